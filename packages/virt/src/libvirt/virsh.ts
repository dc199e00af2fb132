import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { DriverError } from '../driver.ts';

/** A libvirt call that failed; the message is libvirt's own, without virsh's `error:` prefixes. */
export class LibvirtError extends DriverError {
  constructor(
    message: string,
    readonly command: string,
    readonly notFound: boolean,
  ) {
    super(message, `virsh ${command}`);
    this.name = 'LibvirtError';
  }
}

export interface VirshOptions {
  /** libvirt connection URI; `qemu:///system` drives the host's system daemon. */
  uri?: string;
  /** Per call; a call that takes longer is killed and fails with a message saying so. */
  timeoutMs?: number;
  binary?: string;
}

const NOT_FOUND = /Domain not found|no domain with matching|failed to get domain|Network not found|domain is not running|no network with matching/i;

/** libvirt's message from virsh's stderr: the `error:` lines without the prefix, joined. */
export function libvirtMessage(stderr: string): string {
  const lines = stderr
    .split('\n')
    .map((l) => l.trim())
    .filter(Boolean)
    .map((l) => l.replace(/^error:\s*/, ''));
  const useful = lines.filter((l) => !/^failed to (get|connect)/i.test(l) || lines.length === 1);
  return (useful.length ? useful : lines).join(': ') || 'virsh failed without a message';
}

/**
 * libvirt through `virsh` (no native addon builds on Node 20): one small module that every libvirt call goes
 * through, with a timeout per call and errors that carry libvirt's own words. Each call costs one process
 * (~18 ms); lifecycle events come from one long-lived `virsh event --loop`, so nothing polls.
 */
export class Virsh {
  readonly uri: string;
  private readonly timeoutMs: number;
  private readonly binary: string;

  constructor(options: VirshOptions = {}) {
    this.uri = options.uri ?? 'qemu:///system';
    this.timeoutMs = options.timeoutMs ?? 60_000;
    this.binary = options.binary ?? 'virsh';
  }

  /** Runs `virsh <args>` and answers its stdout; libvirt's error message otherwise. */
  run(args: string[], options: { input?: string; timeoutMs?: number } = {}): Promise<string> {
    const command = args.join(' ');
    const timeoutMs = options.timeoutMs ?? this.timeoutMs;
    return new Promise((resolve, reject) => {
      const child = spawn(this.binary, ['-q', '-c', this.uri, ...args], { stdio: [options.input === undefined ? 'ignore' : 'pipe', 'pipe', 'pipe'] });
      const out: Buffer[] = [];
      const err: Buffer[] = [];
      let timedOut = false;
      const timer = setTimeout(() => {
        timedOut = true;
        child.kill('SIGKILL');
      }, timeoutMs);
      child.stdout!.on('data', (b: Buffer) => out.push(b));
      child.stderr!.on('data', (b: Buffer) => err.push(b));
      child.on('error', (error) => {
        clearTimeout(timer);
        reject(new LibvirtError(`cannot run ${this.binary}: ${error.message} (is libvirt-clients installed?)`, command, false));
      });
      child.on('close', (code) => {
        clearTimeout(timer);
        const stderr = Buffer.concat(err).toString();
        if (timedOut) return reject(new LibvirtError(`libvirt did not answer within ${Math.round(timeoutMs / 1000)} s (virsh ${args[0]})`, command, false));
        if (code !== 0) {
          const message = libvirtMessage(stderr);
          return reject(new LibvirtError(message, command, NOT_FOUND.test(stderr)));
        }
        resolve(Buffer.concat(out).toString());
      });
      if (child.stdin) {
        child.stdin.on('error', () => {}); // virsh may exit before reading; its exit code says what happened
        child.stdin.end(options.input);
      }
    });
  }

  /** Like `run`, with the XML in a private temporary file as the last argument (virsh cannot read it from a pipe). */
  async withXml(args: string[], xml: string, timeoutMs?: number): Promise<string> {
    const dir = await mkdtemp(join(tmpdir(), 'aster-virsh-'));
    try {
      const file = join(dir, 'doc.xml');
      await writeFile(file, xml, { mode: 0o600 });
      return await this.run([...args, file], timeoutMs ? { timeoutMs } : {});
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  }

  /**
   * Follows every domain's lifecycle events (`virsh event --loop --event lifecycle`) and calls `onEvent` for each; restarts the
   * stream if it ends (libvirtd restarted) until `stop` is called.
   */
  events(onEvent: (e: { domain: string; event: string; detail: string }) => void, onError: (error: Error) => void): { stop(): void } {
    let child: ChildProcess | null = null;
    let stopped = false;
    let restart: NodeJS.Timeout | null = null;
    const start = () => {
      child = spawn(this.binary, ['-q', '-c', this.uri, 'event', '--loop', '--event', 'lifecycle'], { stdio: ['ignore', 'pipe', 'pipe'] });
      const err: string[] = [];
      child.stderr?.on('data', (b: Buffer) => err.push(b.toString()));
      // event 'lifecycle' for domain 'aster-…': Stopped Shutdown
      createInterface({ input: child.stdout! }).on('line', (line) => {
        const m = /^event 'lifecycle' for domain '([^']+)': (\S+)\s*(.*)$/.exec(line.trim());
        if (m) onEvent({ domain: m[1]!, event: m[2]!, detail: m[3]!.trim() });
      });
      child.on('error', (error) => onError(error));
      child.on('close', (code) => {
        if (stopped) return;
        onError(new Error(`libvirt event stream ended (code ${code}): ${libvirtMessage(err.join(''))}; reconnecting`));
        restart = setTimeout(start, 2000);
        restart.unref();
      });
    };
    start();
    return {
      stop: () => {
        stopped = true;
        if (restart) clearTimeout(restart);
        child?.kill();
      },
    };
  }
}
