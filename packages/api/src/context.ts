import { randomBytes } from 'node:crypto';
import type { Jobs } from '@aster/jobs';
import type { InstanceChanges } from './compute/changes.ts';
import { networkQuotaDefaults } from './compute/quotas.ts';
import type { Pool } from '@aster/db';
import { createLogger, newRequestId, type Logger } from '@aster/log';
import type { Role } from './roles.ts';

export interface ApiConfig {
  /** Lifetime of a login token, seconds (default 12 h). */
  tokenTtlSeconds: number;
  /** Failed logins for one user name before it is locked. */
  loginMaxFailures: number;
  /** First lock, seconds; doubles with each further failure up to loginLockMaxSeconds. */
  loginLockSeconds: number;
  loginLockMaxSeconds: number;
  /** Failures older than this are forgotten, seconds. */
  loginFailureWindowSeconds: number;
  /** A service not heard from for this long is down (Nova's service_down_time), seconds. */
  serviceDownSeconds: number;
  /** Limits of a project without its own (Nova's quota defaults); -1 is unlimited. */
  quotaDefaults: {
    instances: number;
    cores: number;
    ramMb: number;
    keypairs: number;
    serverGroups: number;
    serverGroupMembers: number;
    networks: number;
    subnets: number;
    ports: number;
    routers: number;
    floatingIps: number;
    securityGroups: number;
    securityGroupRules: number;
  };
  /** Where image bytes are kept (the image store folder). */
  imageDir: string;
  /** Largest user data accepted, bytes (Nova: 64 KiB). */
  maxUserDataBytes: number;
  /**
   * Signs the image URLs given to compute hosts (which hold no token). Every API process of a cloud needs
   * the same one; the default is random per process.
   */
  serviceSecret: string;
  /** Lifetime of a console token, seconds (Nova's token_ttl, 600). */
  consoleTokenTtlSeconds: number;
  /** The console proxy as browsers and scripts reach it: `websocketUrl` is this with `/?token=…`. */
  proxyUrl: string;
  /** The web console as people reach it: a console's `url` opens its page there. */
  webUrl: string;
  /** The zone of compute hosts in no zone aggregate (Nova's default_availability_zone). */
  defaultAvailabilityZone: string;
  /** OVN's northbound and southbound databases (`unix:<socket>` or `tcp:<host>:<port>`); `networks.explainConnectivity` traces on them. */
  ovnNbDb: string;
  ovnSbDb: string;
}

export const defaultApiConfig: ApiConfig = {
  tokenTtlSeconds: 12 * 3600,
  loginMaxFailures: 5,
  loginLockSeconds: 30,
  loginLockMaxSeconds: 15 * 60,
  loginFailureWindowSeconds: 15 * 60,
  serviceDownSeconds: 60,
  // Nova's and Neutron's defaults.
  quotaDefaults: {
    instances: 10,
    cores: 20,
    ramMb: 51200,
    keypairs: 100,
    serverGroups: 10,
    serverGroupMembers: 10,
    ...networkQuotaDefaults,
  },
  imageDir: 'images',
  maxUserDataBytes: 65536,
  serviceSecret: randomBytes(32).toString('hex'),
  consoleTokenTtlSeconds: 600,
  proxyUrl: 'ws://127.0.0.1:6080',
  webUrl: 'http://127.0.0.1:3000',
  defaultAvailabilityZone: 'nova',
  ovnNbDb: 'unix:/var/run/ovn/ovnnb_db.sock',
  ovnSbDb: 'unix:/var/run/ovn/ovnsb_db.sock',
};

/** What every procedure sees: independent of HTTP, so tests build it directly (createCaller). */
export interface Context {
  db: Pool;
  config: ApiConfig;
  now: () => Date;
  log: Logger;
  requestId: string;
  /** The bearer token as sent, unchecked; the policy middleware resolves it. */
  token: string | null;
  /** The job queues (absent in a process that does not send work). */
  jobs: Jobs | null;
  /** Instance change notifications, for `servers.watch`. */
  changes: InstanceChanges | null;
}

/** Who is calling, resolved from a valid token. */
export interface Auth {
  tokenId: string;
  user: { id: string; name: string };
  project: { id: string; name: string };
  roles: Role[];
  /** Role admin on the admin project: may act on every project. */
  isAdmin: boolean;
  expiresAt: Date;
  /** Set when the token came from an application credential. */
  credential: { id: string; name: string } | null;
}

export interface CreateContextOptions {
  db: Pool;
  token?: string | null;
  config?: Partial<ApiConfig>;
  now?: () => Date;
  log?: Logger;
  requestId?: string;
  jobs?: Jobs | null;
  changes?: InstanceChanges | null;
}

export function createContext(options: CreateContextOptions): Context {
  return {
    db: options.db,
    config: { ...defaultApiConfig, ...options.config },
    now: options.now ?? (() => new Date()),
    log: options.log ?? createLogger('api'),
    requestId: options.requestId ?? newRequestId(),
    token: options.token ?? null,
    jobs: options.jobs ?? null,
    changes: options.changes ?? null,
  };
}

/** `Authorization: Bearer <token>` → the token, or null. */
export function bearerToken(header: string | string[] | undefined | null): string | null {
  const value = Array.isArray(header) ? header[0] : header;
  if (!value) return null;
  const match = /^Bearer\s+(\S+)\s*$/i.exec(value);
  return match?.[1] ?? null;
}
