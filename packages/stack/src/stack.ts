import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { publicHost } from './paths.ts';
import { startService, waitReady, type RunningService, type ServiceSpec } from './services.ts';

export interface StackOptions {
  root: string;
  databaseUrl: string;
  /** What compute agents connect with: a role that reaches the job queues only, where there is one. */
  computeDatabaseUrl?: string;
  /** What the console proxy connects with: a role that reads console tokens only, where there is one. */
  proxyDatabaseUrl?: string;
  host: string;
  ports: { api: number; proxy: number; web: number; metadata: number };
  logDir: string;
  logLevel: string;
  env: Record<string, string>;
  /** Shared by the API and the compute agents: the metadata listener's signatures, and signed image URLs. */
  secrets: { metadata: string; service: string };
  /** The compute agent's folder for disks and images, and a guest image that proves (or not) that KVM works. */
  compute: { stateDir: string; probeImage: string | null };
  /** Extra settings per process (where OVN is for the API, the datapath for the agent); the user's own win. */
  networking?: { api: Record<string, string>; agent: Record<string, string> };
  /** Told of each process started, with text its command line contains. */
  onSpawn?: (name: string, pid: number | undefined, marker: string) => void;
}

/** Where a listener on `host` can be reached from this machine. */
export function reachable(host: string): string {
  return host === '0.0.0.0' || host === '::' ? '127.0.0.1' : host;
}

const tsx = (root: string, main: string) => ({ command: process.execPath, args: ['--import', 'tsx', join(root, main)] });

/** Every process of the design, in start order: the API first (it migrates), then the rest together. */
export function serviceSpecs(o: StackOptions): ServiceSpec[] {
  const at = reachable(o.host);
  const common = { ...o.env, ASTER_HOST: o.host, ASTER_LOG_LEVEL: o.logLevel, NODE_ENV: 'production' };
  const api = `http://${at}:${o.ports.api}`;
  // Where people reach the console and the proxy (settable, e.g. behind a reverse proxy). A page on
  // localhost may open the proxy on 127.0.0.1 and the other way round: both are this machine.
  const h = publicHost(o.host);
  const webUrl = o.env.ASTER_WEB_URL ?? `http://${h}:${o.ports.web}`;
  const proxyUrl = o.env.ASTER_PROXY_URL ?? `${o.env.ASTER_PROXY_TLS_CERT ? 'wss' : 'ws'}://${h}:${o.ports.proxy}`;
  const loopback = ['127.0.0.1', 'localhost', '::1'].includes(h) ? [`http://localhost:${o.ports.web}`, `http://127.0.0.1:${o.ports.web}`] : [];
  const origins = o.env.ASTER_PROXY_ALLOWED_ORIGINS ?? [...new Set([new URL(webUrl).origin, ...loopback])].join(',');
  return [
    {
      name: 'api',
      cwd: join(o.root, 'apps/api'),
      ...tsx(o.root, 'apps/api/src/main.ts'),
      env: {
        ...o.networking?.api,
        ...common,
        DATABASE_URL: o.databaseUrl,
        ASTER_API_PORT: String(o.ports.api),
        ASTER_METADATA_PORT: String(o.ports.metadata),
        ASTER_METADATA_SECRET: o.secrets.metadata,
        ASTER_SERVICE_SECRET: o.secrets.service,
        ASTER_IMAGE_DIR: join(o.logDir, '..', 'images'),
        ASTER_WEB_URL: webUrl,
        ASTER_PROXY_URL: proxyUrl,
      },
      logFile: join(o.logDir, 'api.log'),
      ready: { log: true },
    },
    {
      name: 'proxy',
      cwd: join(o.root, 'apps/proxy'),
      ...tsx(o.root, 'apps/proxy/src/main.ts'),
      env: { ...common, DATABASE_URL: o.proxyDatabaseUrl ?? o.databaseUrl, ASTER_PROXY_PORT: String(o.ports.proxy), ASTER_PROXY_ALLOWED_ORIGINS: origins },
      logFile: join(o.logDir, 'proxy.log'),
      ready: { log: true },
    },
    {
      name: 'compute-agent',
      cwd: join(o.root, 'apps/compute-agent'),
      ...tsx(o.root, 'apps/compute-agent/src/main.ts'),
      env: {
        ...o.networking?.agent,
        ...common,
        DATABASE_URL: o.computeDatabaseUrl ?? o.databaseUrl,
        ASTER_API_URL: api,
        ASTER_METADATA_URL: `http://127.0.0.1:${o.ports.metadata}`,
        ASTER_METADATA_SECRET: o.secrets.metadata,
        ASTER_COMPUTE_STATE_DIR: o.compute.stateDir,
        ...(o.compute.probeImage ? { ASTER_KVM_PROBE_IMAGE: o.compute.probeImage } : {}),
      },
      logFile: join(o.logDir, 'compute-agent.log'),
      ready: { log: true },
    },
    {
      name: 'web',
      cwd: join(o.root, 'apps/web'),
      command: process.execPath,
      args: [join(o.root, 'node_modules/next/dist/bin/next'), 'start', '-p', String(o.ports.web), '-H', o.host],
      env: { ...common, ASTER_API_URL: api, NEXT_TELEMETRY_DISABLED: '1' },
      logFile: join(o.logDir, 'web.log'),
      ready: { http: `http://${at}:${o.ports.web}/login` },
    },
  ];
}

export interface Stack {
  services: RunningService[];
  /** Resolves with a message when a service ends on its own. */
  crashed: Promise<string>;
  stop(): Promise<void>;
}

export async function startStack(o: StackOptions, terminal: (line: string) => void): Promise<Stack> {
  const specs = serviceSpecs(o);
  const services: RunningService[] = [];
  let stopping = false;
  const stop = async () => {
    stopping = true;
    // Reverse order: the web console and agents first, the API last.
    for (const s of [...services].reverse()) await s.stop();
  };
  let crash: (message: string) => void = () => {};
  const crashed = new Promise<string>((resolve) => (crash = resolve));
  const launch = async (spec: ServiceSpec) => {
    const service = startService(spec, terminal);
    services.push(service);
    o.onSpawn?.(spec.name, service.child.pid, spec.name === 'web' ? 'next' : spec.args[spec.args.length - 1]!);
    void service.exited.then((code) => {
      if (!stopping) crash(`${spec.name} stopped unexpectedly (exit code ${code}); its log is ${spec.logFile}`);
    });
    await waitReady(service, spec, spec.name === 'web' ? 120_000 : 60_000);
  };
  try {
    const [first, ...rest] = specs;
    await launch(first!);
    await Promise.all(rest.map(launch));
  } catch (error) {
    await stop();
    throw error;
  }
  return { services, crashed, stop };
}

/**
 * Builds what needs building (the typed client, the web console); turbo's cache makes an unchanged build
 * instant. Its output is shown only when the build fails.
 */
export function build(root: string, env: Record<string, string>): Promise<void> {
  return new Promise((resolve, reject) => {
    const child = spawn(
      join(root, 'node_modules/.bin/turbo'),
      ['run', 'build', '--output-logs=errors-only', '--log-prefix=task'],
      { cwd: root, stdio: ['ignore', 'pipe', 'pipe'], env: { ...env, TURBO_TELEMETRY_DISABLED: '1', NEXT_TELEMETRY_DISABLED: '1', DO_NOT_TRACK: '1' } },
    );
    const output: Buffer[] = [];
    child.stdout.on('data', (chunk: Buffer) => output.push(chunk));
    child.stderr.on('data', (chunk: Buffer) => output.push(chunk));
    child.on('error', reject);
    child.on('exit', (code) => {
      if (code === 0) return resolve();
      process.stderr.write(Buffer.concat(output));
      reject(new Error(`the build failed (turbo exit code ${code}); its output is above`));
    });
  });
}
