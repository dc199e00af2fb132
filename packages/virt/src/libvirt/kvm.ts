import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export interface KvmVerdict {
  domainType: 'kvm' | 'qemu';
  reason: string;
}

/** Serial output that shows a Linux guest got past the point where a broken KVM fails. */
const BOOTED = /Run \/init as init process|Freeing unused kernel|aster-guest/;
const BROKEN = /KVM internal error|emulation failure|failed to initialize kvm|Could not access KVM/i;

/**
 * Domain type `kvm` only where a real guest proves it boots: some hosts offer a /dev/kvm that SeaBIOS runs
 * on but a Linux kernel does not (paravirtual KVM). Boots `image` (never written: `-snapshot`) under KVM for
 * up to `timeoutMs` and watches its serial port; anything short of a kernel reaching init means `qemu`.
 */
export async function probeKvm(image: string | null, timeoutMs = 30_000): Promise<KvmVerdict> {
  if (!existsSync('/dev/kvm')) return { domainType: 'qemu', reason: 'this host has no /dev/kvm' };
  if (!image || !existsSync(image)) return { domainType: 'qemu', reason: 'no guest image to prove KVM with (software emulation is used)' };
  const dir = await mkdtemp(join(tmpdir(), 'aster-kvm-probe-'));
  const serial = join(dir, 'serial.log');
  try {
    const child = spawn(
      'qemu-system-x86_64',
      ['-accel', 'kvm', '-cpu', 'host', '-m', '128', '-nodefaults', '-display', 'none', '-no-reboot', '-snapshot',
        '-drive', `file=${image},if=virtio`, '-serial', `file:${serial}`, '-nic', 'none'],
      { stdio: ['ignore', 'ignore', 'pipe'] },
    );
    let stderr = '';
    child.stderr.on('data', (b: Buffer) => (stderr += b.toString()));
    const exited = new Promise<void>((resolve) => child.on('close', () => resolve()));
    const deadline = Date.now() + timeoutMs;
    let verdict: KvmVerdict | null = null;
    while (!verdict && Date.now() < deadline) {
      const done = await Promise.race([exited.then(() => true), new Promise<false>((r) => setTimeout(() => r(false), 500))]);
      const out = await readFile(serial, 'utf8').catch(() => '');
      if (BROKEN.test(stderr)) verdict = { domainType: 'qemu', reason: `KVM fails here: ${stderr.split('\n').find((l) => BROKEN.test(l))?.trim()}` };
      else if (BOOTED.test(out)) verdict = { domainType: 'kvm', reason: 'a guest kernel booted under KVM' };
      else if (done) verdict = { domainType: 'qemu', reason: `the KVM test guest stopped early: ${stderr.trim().split('\n').pop() ?? 'no message'}` };
    }
    child.kill('SIGKILL');
    await exited;
    return verdict ?? { domainType: 'qemu', reason: `a guest under KVM did not reach init within ${Math.round(timeoutMs / 1000)} s` };
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}
