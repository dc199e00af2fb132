import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { closeSync, existsSync, openSync, readdirSync, readFileSync, writeFileSync, mkdirSync, chownSync, rmSync } from 'node:fs';
import { join, resolve } from 'node:path';
import pg from 'pg';

/**
 * A Postgres cluster of Aster's own in a folder, run from the machine's PostgreSQL binaries as a child of the
 * launcher (as user postgres when the launcher is root, since Postgres refuses to run as root).
 * It listens on 127.0.0.1 only, and on a Unix socket in the folder (`run/`), with a generated password kept
 * beside it.
 */
export interface LocalPostgres {
  /**
   * For clients on this machine: through the Unix socket, which costs both ends about a third less per
   * statement than TCP on 127.0.0.1 (no TCP, no packet filter); the TCP address when the folder's path is too
   * long for a socket's.
   */
  url: string;
  pid: number | undefined;
  /** The cluster folder: the text that identifies this server in its command line. */
  pgdata: string;
  stop(): Promise<void>;
}

export class PostgresError extends Error {
  override name = 'PostgresError';
}

export function findPostgresBin(explicit?: string): string {
  if (explicit) {
    if (!existsSync(join(explicit, 'postgres'))) throw new PostgresError(`ASTER_PG_BIN: no postgres binary in ${explicit}`);
    return explicit;
  }
  const root = '/usr/lib/postgresql';
  if (existsSync(root)) {
    const versions = readdirSync(root)
      .filter((v) => existsSync(join(root, v, 'bin', 'postgres')))
      .sort((a, b) => Number(b) - Number(a));
    if (versions[0]) return join(root, versions[0], 'bin');
  }
  const which = spawnSync('sh', ['-c', 'command -v postgres'], { encoding: 'utf8' });
  const found = which.stdout.trim();
  if (which.status === 0 && found) return found.replace(/\/postgres$/, '');
  throw new PostgresError(
    'No PostgreSQL server binaries found. Install PostgreSQL (on Debian: apt-get install postgresql-15), ' +
      'set ASTER_PG_BIN to the folder holding `postgres`, or set DATABASE_URL to use a server you run.',
  );
}

interface Identity {
  uid: number;
  gid: number;
}

/** Root runs Postgres as user postgres; anyone else runs it as themselves. */
function postgresIdentity(): Identity | undefined {
  if (process.getuid?.() !== 0) return undefined;
  const id = spawnSync('id', ['-u', 'postgres'], { encoding: 'utf8' });
  const gid = spawnSync('id', ['-g', 'postgres'], { encoding: 'utf8' });
  if (id.status !== 0) {
    throw new PostgresError('Running as root, Postgres needs the system user `postgres` (the postgresql package creates it)');
  }
  return { uid: Number(id.stdout.trim()), gid: Number(gid.stdout.trim()) };
}

function run(bin: string, args: string[], who: Identity | undefined, what: string): void {
  const result = spawnSync(bin, args, { encoding: 'utf8', ...(who ?? {}), cwd: '/' });
  if (result.error) throw new PostgresError(`${what}: ${result.error.message}`);
  if (result.status !== 0) {
    const output = `${result.stdout}\n${result.stderr}`.trim();
    throw new PostgresError(`${what} failed:\n${output}`);
  }
}

export interface StartOptions {
  /** Holds the cluster (in `postgres/`), its password and its log. */
  dir: string;
  port: number;
  bin?: string | undefined;
  database?: string;
  logFile: string;
  /** More server settings, as `-c name=value` (a benchmark's `max_connections`, for one). */
  settings?: Record<string, string>;
}

export async function startLocalPostgres(options: StartOptions): Promise<LocalPostgres> {
  const bin = findPostgresBin(options.bin);
  const who = postgresIdentity();
  const pgdata = join(options.dir, 'postgres');
  const passwordFile = join(options.dir, 'postgres.password');
  mkdirSync(options.dir, { recursive: true, mode: 0o755 });

  if (!existsSync(join(pgdata, 'PG_VERSION'))) {
    rmSync(pgdata, { recursive: true, force: true });
    mkdirSync(pgdata, { mode: 0o700 });
    if (who) chownSync(pgdata, who.uid, who.gid);
    const password = randomBytes(24).toString('base64url');
    writeFileSync(passwordFile, password + '\n', { mode: 0o600 });
    // initdb reads the password from a file it can open, removed after.
    const pwfile = join(options.dir, '.initdb-password');
    writeFileSync(pwfile, password + '\n', { mode: 0o600 });
    if (who) chownSync(pwfile, who.uid, who.gid);
    try {
      run(
        join(bin, 'initdb'),
        ['-D', pgdata, '-U', 'aster', `--pwfile=${pwfile}`, '--auth=scram-sha-256', '--encoding=UTF8', '--no-locale'],
        who,
        'initdb',
      );
    } catch (error) {
      rmSync(pgdata, { recursive: true, force: true });
      if (error instanceof PostgresError && /Permission denied|could not (access|change)/.test(error.message)) {
        throw new PostgresError(
          `${error.message}\n\nPostgres runs as user postgres, which cannot reach ${pgdata}: every folder above it must be ` +
            'searchable by others (chmod o+x), or choose another data folder with ASTER_DATA_DIR.',
        );
      }
      throw error;
    } finally {
      rmSync(pwfile, { force: true });
    }
  }

  const sockets = socketDir(options.dir, options.port);
  if (sockets) {
    mkdirSync(sockets, { recursive: true, mode: 0o755 });
    if (who) chownSync(sockets, who.uid, who.gid);
  }
  const logFd = openSync(options.logFile, 'a');
  if (who) chownSync(options.logFile, who.uid, who.gid);
  const child: ChildProcess = spawn(
    join(bin, 'postgres'),
    [
      '-D',
      pgdata,
      '-p',
      String(options.port),
      '-c',
      'listen_addresses=127.0.0.1',
      '-c',
      `unix_socket_directories=${sockets ?? ''}`,
      ...Object.entries(options.settings ?? {}).flatMap(([k, v]) => ['-c', `${k}=${v}`]),
    ],
    // Its own process group: Ctrl-C reaches the launcher, which stops Postgres last, after the services using it.
    { stdio: ['ignore', logFd, logFd], detached: true, cwd: '/', ...(who ?? {}) },
  );
  closeSync(logFd);
  let exited: number | null | undefined;
  const exit = new Promise<void>((resolve) =>
    child.on('exit', (code) => {
      exited = code;
      resolve();
    }),
  );

  const base = serverUrl(options.dir, options.port, { tcp: true });
  const deadline = Date.now() + 60_000;
  for (;;) {
    if (exited !== undefined) {
      const tail = readFileSync(options.logFile, 'utf8').trim().split('\n').slice(-8).join('\n');
      const running = /lock file .* already exists|could not bind/.test(tail);
      throw new PostgresError(
        running
          ? `Postgres could not start: port ${options.port} or the data folder is in use (is Aster already running here?)\n${tail}`
          : `Postgres exited at start (code ${exited}); its log, ${options.logFile}, ends:\n${tail}`,
      );
    }
    const client = new pg.Client({ connectionString: `${base}/postgres` });
    try {
      await client.connect();
      const db = options.database ?? 'aster';
      const has = await client.query('SELECT 1 FROM pg_database WHERE datname = $1', [db]);
      if (!has.rowCount) await client.query(`CREATE DATABASE "${db}"`);
      await client.end();
      break;
    } catch (error) {
      await client.end().catch(() => {});
      if (Date.now() > deadline) throw new PostgresError(`Postgres did not accept connections within 60 s: ${String(error)}`);
      await new Promise((r) => setTimeout(r, 100));
    }
  }

  return {
    url: `${serverUrl(options.dir, options.port)}/${options.database ?? 'aster'}`,
    pid: child.pid,
    pgdata,
    async stop() {
      if (exited !== undefined) return;
      child.kill('SIGINT'); // fast shutdown: ends sessions, writes a checkpoint, loses nothing committed
      const timer = setTimeout(() => child.kill('SIGQUIT'), 30_000);
      await exit;
      clearTimeout(timer);
    },
  };
}

/**
 * The URL of the cluster in `dir` listening on `port`, without a database name: through its Unix socket when
 * it has one (unless `tcp`), else TCP on 127.0.0.1.
 */
export function serverUrl(dir: string, port: number, o: { tcp?: boolean } = {}): string {
  const password = readFileSync(join(dir, 'postgres.password'), 'utf8').trim();
  const sockets = o.tcp ? null : socketDir(dir, port);
  const host = sockets && existsSync(join(sockets, `.s.PGSQL.${port}`)) ? encodeURIComponent(sockets) : '127.0.0.1';
  return `postgresql://aster:${encodeURIComponent(password)}@${host}:${port}`;
}

/** Where the cluster in `dir` puts its Unix socket; null when that path would be too long for a socket's. */
function socketDir(dir: string, port: number): string | null {
  const folder = join(resolve(dir), 'run');
  // A socket's path holds at most 107 bytes on Linux.
  return Buffer.byteLength(join(folder, `.s.PGSQL.${port}.lock`)) <= 100 ? folder : null;
}
