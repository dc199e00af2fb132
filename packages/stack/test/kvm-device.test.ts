import { spawnSync } from 'node:child_process';
import { chmodSync, chownSync, mkdtempSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { expect, it } from 'vitest';
import { openKvmToItsGroup } from '../src/hypervisor.ts';

const kvmGid = Number(spawnSync('getent', ['group', 'kvm'], { encoding: 'utf8' }).stdout.split(':')[2]);

// Where no udev runs, /dev/kvm stays root's alone and every `virsh define` re-probes QEMU for half a minute.
it.runIf(process.getuid?.() === 0 && kvmGid > 0)('gives a root-only kvm device to group kvm, mode 660, as udev would, and leaves it so', () => {
  const dir = mkdtempSync(join(tmpdir(), 'aster-kvm-'));
  try {
    const device = join(dir, 'kvm');
    writeFileSync(device, '');
    chownSync(device, 0, 0);
    chmodSync(device, 0o600);
    const said: string[] = [];
    openKvmToItsGroup((line) => said.push(line), device);
    const st = statSync(device);
    expect({ gid: st.gid, mode: st.mode & 0o777 }).toEqual({ gid: kvmGid, mode: 0o660 });
    expect(said).toEqual([`Giving ${device} to group kvm, mode 660 (as udev would)…`]);
    openKvmToItsGroup((line) => said.push(line), device);
    expect(said).toHaveLength(1);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
