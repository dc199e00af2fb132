import { powerStates } from '@aster/compute';
import { DriverError } from '../driver.ts';
import type { Domains, LibvirtLog } from './domains.ts';
import { powerStateOf, type DomInfo } from './facts.ts';

const { RUNNING } = powerStates;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/**
 * The power actions of the libvirt driver (see `Driver` for their contract): each checks the domain is this
 * host's, does nothing when its target state is already reached, and resolves once it is.
 */
export class PowerActions {
  constructor(
    private readonly domains: Domains,
    private readonly log?: LibvirtLog,
  ) {}

  private get virsh() {
    return this.domains.virsh;
  }

  private async waitFor(id: string, done: (d: DomInfo | null) => boolean, timeoutMs: number): Promise<boolean> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      if (done(await this.domains.dominfo(id))) return true;
      if (Date.now() >= deadline) return false;
      await sleep(250);
    }
  }

  /**
   * Presses the ACPI power button until the guest is off or `timeoutMs` passes; pressed again every two
   * seconds (Nova's shutdown_retry_interval, shorter), since a guest still booting misses early presses.
   */
  private async acpiShutdown(id: string, timeoutMs: number): Promise<boolean> {
    const deadline = Date.now() + timeoutMs;
    while (Date.now() < deadline) {
      await this.virsh.run(['shutdown', id, '--mode', 'acpi']).catch(() => {});
      if (await this.waitFor(id, (x) => x === null || x.state === 'shut off', Math.min(2_000, deadline - Date.now()))) return true;
    }
    return false;
  }

  async powerOff(id: string, options: { timeoutSeconds?: number } = {}): Promise<void> {
    const d = await this.domains.mustExist(id);
    if (d.state === 'shut off') return;
    if (d.state === 'running' || d.state === 'idle' || d.state === 'blocked' || d.state === 'in shutdown') {
      if (await this.acpiShutdown(id, (options.timeoutSeconds ?? 60) * 1000)) return;
      this.log?.warn('guest ignored the ACPI shutdown; forcing it off', { id, timeoutSeconds: options.timeoutSeconds ?? 60 });
    }
    await this.domains.destroy(id);
  }

  async powerOn(id: string): Promise<void> {
    const d = await this.domains.mustExist(id);
    if (d.state === 'shut off') await this.virsh.run(['start', id], { timeoutMs: 120_000 });
    else if (d.state === 'paused') await this.virsh.run(['resume', id]);
  }

  async reboot(id: string, type: 'SOFT' | 'HARD'): Promise<void> {
    const d = await this.domains.mustExist(id);
    if (type === 'SOFT' && powerStateOf(d) === RUNNING) {
      // As Nova does: an ACPI shutdown and a fresh start; a guest that ignores it gets a hard reboot.
      if (await this.acpiShutdown(id, 60_000)) {
        await this.virsh.run(['start', id], { timeoutMs: 120_000 });
        return;
      }
      this.log?.warn('guest ignored the ACPI reboot; rebooting it hard', { id });
    }
    // Hard: whatever state it is in, the guest starts afresh (a managed save is dropped, as Nova's hard reboot does).
    const now = (await this.domains.dominfo(id)) ?? d;
    if (now.state !== 'shut off') await this.virsh.run(['destroy', id]);
    if (now.managedSave) await this.virsh.run(['managedsave-remove', id]);
    await this.virsh.run(['start', id], { timeoutMs: 120_000 });
  }

  async pause(id: string): Promise<void> {
    const d = await this.domains.mustExist(id);
    if (d.state === 'paused') return;
    if (powerStateOf(d) !== RUNNING) throw new DriverError(`cannot pause: the guest is ${d.state}`);
    await this.virsh.run(['suspend', id]);
  }

  async unpause(id: string): Promise<void> {
    const d = await this.domains.mustExist(id);
    if (d.state !== 'paused') return;
    await this.virsh.run(['resume', id]);
  }

  async suspend(id: string): Promise<void> {
    const d = await this.domains.mustExist(id);
    if (d.state === 'shut off' && d.managedSave) return;
    if (d.state === 'shut off') throw new DriverError('cannot suspend: the guest is shut off');
    await this.virsh.run(['managedsave', id], { timeoutMs: 300_000 });
  }

  async resume(id: string): Promise<void> {
    const d = await this.domains.mustExist(id);
    if (d.state === 'paused') return void (await this.virsh.run(['resume', id]));
    if (d.state === 'shut off') await this.virsh.run(['start', id], { timeoutMs: 300_000 });
  }
}
