import { spawn, spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';

/** Runs a command; throws with its output when it fails. */
export function sh(command: string, ...args: string[]): string {
  const r = spawnSync(command, args, { encoding: 'utf8', timeout: 60_000 });
  if (r.status !== 0) throw new Error(`${command} ${args.join(' ')} failed (${r.status}): ${r.stderr || r.stdout}`);
  return r.stdout;
}

/** A network namespace whose eth0 is one end of a veth pair; the other end (`outside`) is left to plug in. */
export interface Namespace {
  name: string;
  outside: string;
  mac: string;
  ip: string;
  exec(...args: string[]): ReturnType<typeof spawnSync>;
  remove(): void;
}

export function makeNamespace(tag: string, ip: string, prefix = 24): Namespace {
  const name = `aster-${tag}`;
  const outside = `${tag}-o`.slice(0, 15);
  const mac = `02:${[...randomBytes(5)].map((b) => b.toString(16).padStart(2, '0')).join(':')}`;
  spawnSync('ip', ['netns', 'del', name]);
  spawnSync('ip', ['link', 'del', outside]);
  sh('ip', 'netns', 'add', name);
  sh('ip', 'link', 'add', outside, 'type', 'veth', 'peer', 'name', 'eth0', 'netns', name);
  sh('ip', '-n', name, 'link', 'set', 'eth0', 'address', mac);
  sh('ip', '-n', name, 'addr', 'add', `${ip}/${prefix}`, 'dev', 'eth0');
  sh('ip', '-n', name, 'link', 'set', 'eth0', 'up');
  sh('ip', '-n', name, 'link', 'set', 'lo', 'up');
  sh('ip', 'link', 'set', outside, 'up');
  return {
    name,
    outside,
    mac,
    ip,
    exec: (...args) => spawnSync('ip', ['netns', 'exec', name, ...args], { encoding: 'utf8', timeout: 60_000 }),
    remove() {
      spawnSync('ip', ['link', 'del', outside]);
      spawnSync('ip', ['netns', 'del', name]);
    },
  };
}

/** Pings until an answer comes (the first packets may meet flows still being installed). */
export async function pingable(from: Namespace, ip: string, timeoutMs = 20_000): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (from.exec('ping', '-c', '1', '-W', '1', ip).status === 0) return true;
    await new Promise((r) => setTimeout(r, 300));
  }
  return false;
}

/**
 * Sends `bytes` over TCP from one namespace to a listener in another (both Node) and answers how many
 * arrived: large writes are what the kernel hands over as TSO segments.
 */
export async function tcpBytes(server: Namespace, client: Namespace, bytes: number): Promise<number> {
  const port = 5201;
  const listener = spawn(
    'ip',
    ['netns', 'exec', server.name, process.execPath, '-e',
      `const s=require('net').createServer(c=>{let n=0;c.on('data',d=>n+=d.length);c.on('end',()=>{console.log(n);process.exit(0)})});` +
      `s.listen(${port},'${server.ip}',()=>console.log('listening'))`],
    { stdio: ['ignore', 'pipe', 'pipe'] },
  );
  let out = '';
  listener.stdout.on('data', (b: Buffer) => (out += b.toString()));
  const done = new Promise<void>((resolve) => listener.on('exit', () => resolve()));
  try {
    for (let i = 0; i < 100 && !out.includes('listening'); i++) await new Promise((r) => setTimeout(r, 100));
    const sent = client.exec(process.execPath, '-e',
      `const c=require('net').connect(${port},'${server.ip}',()=>{c.end(Buffer.alloc(${bytes},7))});` +
      `c.setTimeout(15000,()=>{console.error('timeout');process.exit(1)});c.on('error',e=>{console.error(e.message);process.exit(1)})`);
    if (sent.status !== 0) throw new Error(`the TCP client failed: ${String(sent.stderr)}`);
    await Promise.race([done, new Promise((r) => setTimeout(r, 15_000))]);
    return Number(out.split('\n').filter(Boolean).pop());
  } finally {
    listener.kill('SIGKILL');
  }
}

/**
 * Turns off TX checksum offload (and with it TSO) on the namespace's eth0, so its kernel sends every segment
 * whole and checksummed. Open vSwitch 3.1's userspace datapath drops a packet that still carries offload
 * flags when it would put it in a tunnel ("Tunneling packets with HW offload flags is not supported"), and
 * with userspace TSO on, every TCP segment from a veth carries them. ethtool's ioctl, from Python (a
 * dependency of Debian's openvswitch-switch), as ethtool itself need not be installed.
 */
export function sendFullChecksums(ns: Namespace): void {
  const script = [
    'import ctypes, fcntl, socket, struct',
    'buf = ctypes.create_string_buffer(struct.pack("II", 0x17, 0))', // ETHTOOL_STXCSUM, off
    'fcntl.ioctl(socket.socket(socket.AF_INET, socket.SOCK_DGRAM), 0x8946, struct.pack("16sP", b"eth0", ctypes.addressof(buf)))', // SIOCETHTOOL
  ].join('\n');
  const r = ns.exec('/usr/bin/python3', '-c', script);
  if (r.status !== 0) throw new Error(`cannot turn off TX checksum offload in ${ns.name}: ${String(r.stderr)}`);
}
