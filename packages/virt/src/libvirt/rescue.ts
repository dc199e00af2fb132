import { readFile, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { powerStates } from '@aster/compute';
import type { InstanceInfo, InstanceSpec } from '../driver.ts';
import { createOverlay, exists, type ImageCache } from './disks.ts';
import { rescueXml } from './domain-update.ts';
import type { Domains, LibvirtLog } from './domains.ts';
import { powerStateOf } from './facts.ts';
import type { PowerActions } from './power.ts';

/** How long a guest being rescued has to shut down on ACPI before it is forced off (its own disk is kept). */
const RESCUE_SHUTDOWN_SECONDS = 10;

/** What rescue and unrescue use of the libvirt driver. */
export interface RescueHost {
  domains: Domains;
  power: PowerActions;
  images: ImageCache;
  instanceDir(id: string): string;
  log?: LibvirtLog;
}

/**
 * Nova's rescue: the guest off, its definition kept as `domain.xml.orig` in the instance's folder, then
 * booted from `disk.rescue` (an overlay on the rescue image) with its own disk second. A failure puts the
 * original definition back (and the guest, if it ran).
 */
export async function rescue(h: RescueHost, spec: InstanceSpec): Promise<InstanceInfo> {
  const { virsh } = h.domains;
  const d = await h.domains.mustExist(spec.id);
  const dir = h.instanceDir(spec.id);
  const saved = join(dir, 'domain.xml.orig');
  const rescueDisk = join(dir, 'disk.rescue');
  // Rescuing a rescued guest keeps the first definition: the one unrescue goes back to.
  const rescued = await exists(saved);
  const original = rescued ? await readFile(saved, 'utf8') : await virsh.run(['dumpxml', spec.id, '--inactive']);
  const base = await h.images.fetch(spec.image);
  const wasRunning = powerStateOf(d) === powerStates.RUNNING;
  await h.power.powerOff(spec.id, { timeoutSeconds: RESCUE_SHUTDOWN_SECONDS });
  try {
    if (d.managedSave) await virsh.run(['managedsave-remove', spec.id]);
    if (!rescued) await writeFile(saved, original, { mode: 0o600 });
    await rm(rescueDisk, { force: true });
    await createOverlay(rescueDisk, base, spec.image.diskFormat, 0, spec.image.name);
    await virsh.withXml(['define'], rescueXml(original, rescueDisk));
    await virsh.run(['start', spec.id], { timeoutMs: 120_000 });
  } catch (error) {
    if (!rescued) {
      await restoreOriginal(h, spec.id, original, wasRunning).catch((e: unknown) =>
        h.log?.warn('putting back the definition of a guest whose rescue failed', { id: spec.id, error: (e as Error).message }),
      );
    }
    throw error;
  }
  return h.domains.running(spec.id);
}

/** Boots the guest's own disk again: the saved definition back, the rescue disk deleted. */
export async function unrescue(h: RescueHost, id: string): Promise<InstanceInfo> {
  await h.domains.mustExist(id);
  const saved = join(h.instanceDir(id), 'domain.xml.orig');
  if (await exists(saved)) await restoreOriginal(h, id, await readFile(saved, 'utf8'), true);
  else await h.power.powerOn(id);
  return h.domains.running(id);
}

async function restoreOriginal(h: RescueHost, id: string, original: string, start: boolean): Promise<void> {
  const { virsh } = h.domains;
  await h.domains.destroy(id);
  await virsh.withXml(['define'], original);
  const dir = h.instanceDir(id);
  await rm(join(dir, 'disk.rescue'), { force: true });
  await rm(join(dir, 'domain.xml.orig'), { force: true });
  if (start) await virsh.run(['start', id], { timeoutMs: 120_000 });
}
