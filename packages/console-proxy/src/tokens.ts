import { hashConsoleToken, type ConsoleType } from '@aster/compute';
import type pg from 'pg';

/** Console tokens are 32 random bytes in base64url: anything else is refused without a query. */
const TOKEN_SHAPE = /^[A-Za-z0-9_-]{43}$/;

export function isTokenShaped(token: string): boolean {
  return TOKEN_SHAPE.test(token);
}

/** The database keeps only the SHA-256 of a token, as the API hashes it. */
export { hashConsoleToken as hashToken, type ConsoleType };

/** A row of the view console_token_targets: where a token leads, and its instance's present state. */
export interface ConsoleTarget {
  tokenHash: Buffer;
  consoleType: ConsoleType;
  /** The compute host the console is on. */
  host: string;
  targetHost: string;
  targetPort: number;
  expiresAt: Date;
  revokedAt: Date | null;
  revokedReason: string | null;
  instanceId: string;
  instanceName: string;
  projectId: string;
  userId: string | null;
  userName: string | null;
  vmState: string;
  taskState: string | null;
  powerState: number;
  instanceDeleted: boolean;
  /** Milliseconds until expiry by the database's clock when read (negative once expired), so the proxy's clock does not matter. */
  expiresInMs: number;
}

/** Looks a token up; null when no such token exists. */
export interface TokenResolver {
  resolve(token: string): Promise<ConsoleTarget | null>;
}

interface Row {
  token_hash: Buffer;
  console_type: ConsoleType;
  host: string;
  target_host: string;
  target_port: number;
  expires_at: Date;
  revoked_at: Date | null;
  revoked_reason: string | null;
  instance_id: string;
  instance_name: string;
  project_id: string;
  user_id: string | null;
  user_name: string | null;
  vm_state: string;
  task_state: string | null;
  power_state: number;
  instance_deleted: boolean;
  expires_in_ms: number;
}

// The proxy's role may read this view and nothing else; the primary key of console_tokens serves the lookup.
const LOOKUP = {
  name: 'aster-console-token-target',
  text: `SELECT token_hash, console_type, host, target_host, target_port, expires_at, revoked_at, revoked_reason,
                instance_id, instance_name, project_id, user_id, user_name, vm_state, task_state, power_state,
                instance_deleted, (extract(epoch FROM expires_at - clock_timestamp()) * 1000)::float8 AS expires_in_ms
           FROM console_token_targets WHERE token_hash = $1`,
};

export class PgTokenResolver implements TokenResolver {
  constructor(private readonly pool: pg.Pool) {}

  async resolve(token: string): Promise<ConsoleTarget | null> {
    if (!isTokenShaped(token)) return null;
    const { rows } = await this.pool.query<Row>({ ...LOOKUP, values: [hashConsoleToken(token)] });
    const r = rows[0];
    if (!r) return null;
    return {
      tokenHash: r.token_hash,
      consoleType: r.console_type,
      host: r.host,
      targetHost: r.target_host,
      targetPort: r.target_port,
      expiresAt: r.expires_at,
      revokedAt: r.revoked_at,
      revokedReason: r.revoked_reason,
      instanceId: r.instance_id,
      instanceName: r.instance_name,
      projectId: r.project_id,
      userId: r.user_id,
      userName: r.user_name,
      vmState: r.vm_state,
      taskState: r.task_state,
      powerState: Number(r.power_state),
      instanceDeleted: r.instance_deleted,
      expiresInMs: r.expires_in_ms,
    };
  }
}
