import { spawn } from 'node:child_process';
import { readFile } from 'node:fs/promises';
import { createInterface } from 'node:readline';
import type { AsterClient } from '@aster/client';

// What the boot benchmark watches: guests' serial logs, libvirt's lifecycle events and the API's server stream.

const STEP_TIMEOUT_MS = 180_000;
const BANNER = /aster-guest ready hostname=(\S+) instance=(\S+)/;
const SOURCE = /aster-guest metadata source=(\S+)/;
const LEASE = /aster-guest dhcp eth0 ip=(\S+)/;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** When an event happened: virsh's own `--timestamp` where it parsed, else when its line got here. */
export type Seen = { at: number; arrival: number; stamped: boolean };

/** Polls a serial log every 50 ms until the guest's ready line; answers when, where its metadata came from and its address. */
export async function banner(path: string, id: string, signal: AbortSignal) {
  const deadline = Date.now() + STEP_TIMEOUT_MS;
  for (;;) {
    const text = await readFile(path, 'utf8').catch(() => '');
    const m = BANNER.exec(text);
    if (m) return { at: Date.now(), instance: m[2]!, named: m[2] === id, source: SOURCE.exec(text)?.[1] ?? 'none', ip: LEASE.exec(text)?.[1] };
    if (signal.aborted) throw new Error('stopped');
    if (Date.now() > deadline) throw new Error(`no banner in ${path} within ${STEP_TIMEOUT_MS / 1000} s; it ends: ${text.slice(-400)}`);
    await sleep(50);
  }
}

/**
 * `virsh event --loop --event lifecycle --timestamp`, one child for the whole run. Its lines read
 * `2025-01-01 12:00:00.123+0000: event 'lifecycle' for domain 'aster-…': Started Booted`.
 */
export function lifecycleEvents() {
  const child = spawn('virsh', ['-q', '-c', 'qemu:///system', 'event', '--loop', '--event', 'lifecycle', '--timestamp'], { stdio: ['ignore', 'pipe', 'pipe'] });
  const seen = new Map<string, Seen>();
  const waiters = new Map<string, (s: Seen) => void>();
  let ended = false;
  child.on('close', () => (ended = true));
  createInterface({ input: child.stdout }).on('line', (line) => {
    const arrival = Date.now();
    const m = /^(?:(\d{4}-\d\d-\d\d) (\d\d:\d\d:\d\d(?:\.\d+)?)([+-]\d\d)(\d\d): )?event 'lifecycle' for domain '([^']+)': (\S+)/.exec(line.trim());
    if (!m) return;
    const stamp = m[1] ? Date.parse(`${m[1]}T${m[2]}${m[3]}:${m[4]}`) : NaN;
    const s: Seen = Number.isFinite(stamp) ? { at: stamp, arrival, stamped: true } : { at: arrival, arrival, stamped: false };
    const key = `${m[5]} ${m[6]}`;
    if (!seen.has(key)) seen.set(key, s);
    waiters.get(key)?.(s);
    waiters.delete(key);
  });
  return {
    waitFor(domain: string, event: string): Promise<Seen> {
      const key = `${domain} ${event}`;
      const now = seen.get(key);
      if (now) return Promise.resolve(now);
      if (ended) return Promise.reject(new Error('the libvirt event stream ended'));
      return new Promise((resolve, reject) => {
        const timer = setTimeout(() => reject(new Error(`no ${event} event for ${domain} within ${STEP_TIMEOUT_MS / 1000} s`)), STEP_TIMEOUT_MS);
        timer.unref();
        waiters.set(key, (s) => (clearTimeout(timer), resolve(s)));
      });
    },
    stop: () => child.kill(),
  };
}

type Watched = { id: string; status: string; addresses: Record<string, { ip: string }[]> };

/** servers.watch over SSE: resolves when a server reaches a status with no task running; rejects on ERROR. */
export function watcher(client: AsterClient) {
  const seen = new Map<string, Watched>();
  const waiters = new Map<string, { status: string; resolve: (s: Watched) => void; reject: (e: Error) => void }>();
  let ready!: () => void;
  const started = new Promise<void>((r) => (ready = r));
  const sub = client.servers.watch.subscribe(
    {},
    {
      onStarted: () => ready(),
      onData: ({ data: s }) => {
        if (s.taskState !== null) return;
        seen.set(s.id, s);
        const w = waiters.get(s.id);
        if (s.status === w?.status) w.resolve(s);
        else if (w && s.status === 'ERROR') w.reject(new Error(`server ${s.id} went to ERROR (see the logs)`));
        else return;
        waiters.delete(s.id);
      },
    },
  );
  return {
    ready: started,
    until: (id: string, status: string) =>
      new Promise<Watched>((resolve, reject) => {
        const now = seen.get(id);
        if (now?.status === status) return resolve(now);
        const timer = setTimeout(() => reject(new Error(`server ${id} did not become ${status}; last seen ${now?.status ?? 'never'}`)), STEP_TIMEOUT_MS);
        timer.unref();
        waiters.set(id, { status, resolve: (s) => (clearTimeout(timer), resolve(s)), reject: (e) => (clearTimeout(timer), reject(e)) });
      }),
    close: () => sub.unsubscribe(),
  };
}
