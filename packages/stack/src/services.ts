import { spawn, type ChildProcess } from 'node:child_process';
import { createInterface } from 'node:readline';
import { createWriteStream, mkdirSync } from 'node:fs';
import { dirname } from 'node:path';

export interface ServiceSpec {
  name: string;
  cwd: string;
  command: string;
  args: string[];
  env: Record<string, string>;
  logFile: string;
  /** When the service counts as up: a JSON log line with msg "ready", or an HTTP answer. */
  ready: { log: true } | { http: string };
}

export interface RunningService {
  name: string;
  child: ChildProcess;
  /** Resolves with the exit code once the process has ended. */
  exited: Promise<number | null>;
  stop(): Promise<void>;
}

/**
 * Starts one process with its output appended to its log file. Warnings, errors and plain text on stderr
 * (a crash) are also shown on the terminal, prefixed with the service name.
 */
export function startService(spec: ServiceSpec, terminal: (line: string) => void): RunningService {
  mkdirSync(dirname(spec.logFile), { recursive: true });
  const log = createWriteStream(spec.logFile, { flags: 'a' });
  const child = spawn(spec.command, spec.args, {
    cwd: spec.cwd,
    env: spec.env,
    // Aster's own services get an IPC channel: when the launcher dies without stopping them, the channel
    // closes and they stop themselves.
    stdio: spec.name === 'web' ? ['ignore', 'pipe', 'pipe'] : ['ignore', 'pipe', 'pipe', 'ipc'],
    // Its own process group, so the launcher stops services in order rather than all at once on Ctrl-C.
    detached: true,
  });
  let readyResolve: () => void = () => {};
  const readyLine = new Promise<void>((resolve) => (readyResolve = resolve));
  const onLine = (line: string, fromStderr: boolean) => {
    log.write(line + '\n');
    let record: { level?: string; msg?: string; error?: { message?: string } } | undefined;
    try {
      const parsed: unknown = JSON.parse(line);
      if (parsed && typeof parsed === 'object') record = parsed as typeof record;
    } catch {
      record = undefined;
    }
    if (record?.msg === 'ready') readyResolve();
    if (!record) {
      // Plain text on stderr is a crash or a tool's error; plain text on stdout is chatter, kept in the log.
      if (fromStderr && line.trim()) terminal(`[${spec.name}] ${line}`);
    } else if (record.level === 'warn' || record.level === 'error') {
      terminal(`[${spec.name}] ${record.level}: ${record.msg ?? ''}${record.error?.message ? ` (${record.error.message})` : ''}`);
    }
  };
  createInterface({ input: child.stdout! }).on('line', (line) => onLine(line, false));
  createInterface({ input: child.stderr! }).on('line', (line) => onLine(line, true));
  const exited = new Promise<number | null>((resolve) =>
    child.on('exit', (code, signal) => {
      log.end();
      resolve(code ?? (signal ? 128 : null));
    }),
  );
  const service: RunningService & { readyLine: Promise<void> } = {
    name: spec.name,
    child,
    exited,
    readyLine,
    async stop() {
      if (child.exitCode !== null || child.signalCode !== null) return;
      child.kill('SIGTERM');
      const timer = setTimeout(() => child.kill('SIGKILL'), 15_000);
      await exited;
      clearTimeout(timer);
    },
  };
  return service;
}

export async function waitReady(service: RunningService, spec: ServiceSpec, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  const failed = service.exited.then((code) => {
    throw new Error(`${spec.name} exited at start with code ${code}; see ${spec.logFile}`);
  });
  const ready =
    'log' in spec.ready
      ? (service as RunningService & { readyLine: Promise<void> }).readyLine
      : pollHttp(spec.ready.http, deadline);
  const timeout = new Promise<never>((_, reject) =>
    setTimeout(() => reject(new Error(`${spec.name} was not ready within ${timeoutMs / 1000} s; see ${spec.logFile}`)), timeoutMs).unref(),
  );
  await Promise.race([ready, failed, timeout]);
}

async function pollHttp(url: string, deadline: number): Promise<void> {
  while (Date.now() < deadline) {
    try {
      const res = await fetch(url, { redirect: 'manual' });
      if (res.status < 500) return;
    } catch {
      // not listening yet
    }
    await new Promise((r) => setTimeout(r, 200));
  }
}
