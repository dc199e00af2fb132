import { randomUUID } from 'node:crypto';
import { stat } from 'node:fs/promises';
import { powerStates } from '@aster/compute';
import { describe, expect, it } from 'vitest';
import { DriverError, FakeDriver, InstanceNotFound, type LifecycleEvent } from '../src/index.ts';
import { driverContract, sampleSpec } from '../src/testing.ts';

const { RUNNING, PAUSED, SHUTDOWN, CRASHED, SUSPENDED } = powerStates;

driverContract('FakeDriver', async () => ({ driver: new FakeDriver() }), {
  timeoutMs: 5_000,
  makeFailing: async () => ({ driver: new FakeDriver({ failSpawn: 'no room for the guest' }) }),
});

async function rejection(promise: Promise<unknown>): Promise<Error> {
  const error: unknown = await promise.then(
    () => null,
    (e: unknown) => e,
  );
  if (!(error instanceof Error)) throw new Error('expected the call to fail, and it succeeded');
  return error;
}

describe('FakeDriver', () => {
  describe('failure injection', () => {
    it('failSpawn makes every spawn fail with its message and leaves nothing', async () => {
      const driver = new FakeDriver({ failSpawn: 'qemu: could not allocate memory' });
      const spec = sampleSpec();
      const error = await rejection(driver.spawn(spec));
      expect(error).toBeInstanceOf(DriverError);
      expect(error.message).toBe('qemu: could not allocate memory');
      expect(await driver.list()).toEqual([]);
      await expect(driver.consoleLog(spec.id)).rejects.toBeInstanceOf(InstanceNotFound);
    });

    it('failSpawn: true fails with a message in words', async () => {
      const error = await rejection(new FakeDriver({ failSpawn: true }).spawn(sampleSpec()));
      expect(error).toBeInstanceOf(DriverError);
      expect(error.message).toMatch(/failed to start the instance/);
    });

    it('failSpawnAfter lets the first N spawns succeed, then fails every one', async () => {
      const driver = new FakeDriver({ failSpawnAfter: 2 });
      const [a, b, c, d] = [sampleSpec(), sampleSpec(), sampleSpec(), sampleSpec()];
      await driver.spawn(a);
      await driver.spawn(b);
      // Spawning one that exists creates nothing, so it does not count.
      await driver.spawn(a);
      await expect(driver.spawn(c)).rejects.toThrow(/after 2 spawns/);
      await expect(driver.spawn(d)).rejects.toBeInstanceOf(DriverError);
      expect((await driver.list()).map((i) => i.id).sort()).toEqual([a.id, b.id].sort());
    });

    it('spawnDelayMs makes spawn slow, and a second spawn of the same id waits for the first', async () => {
      const driver = new FakeDriver({ spawnDelayMs: 80 });
      const spec = sampleSpec();
      const steps: string[] = [];
      const started = performance.now();
      const [first, second] = await Promise.all([driver.spawn(spec, (s) => steps.push(s)), driver.spawn(spec)]);
      expect(performance.now() - started).toBeGreaterThanOrEqual(70);
      expect(first).toEqual(second);
      expect(steps).toEqual(['creating disk', 'defining domain', 'starting domain']);
      expect(await driver.list()).toHaveLength(1);
    });

    it('destroy during a slow spawn leaves nothing once both are done', async () => {
      const driver = new FakeDriver({ spawnDelayMs: 50 });
      const spec = sampleSpec();
      const spawning = driver.spawn(spec);
      await driver.destroy(spec.id);
      await spawning;
      expect(await driver.info(spec.id)).toBeNull();
    });

    it('actionDelayMs makes actions slow', async () => {
      const driver = new FakeDriver({ actionDelayMs: 60 });
      const spec = sampleSpec();
      await driver.spawn(spec);
      const started = performance.now();
      await driver.pause(spec.id);
      expect(performance.now() - started).toBeGreaterThanOrEqual(50);
      expect((await driver.info(spec.id))?.powerState).toBe(PAUSED);
    });

    it('failActions fail the named actions with their message and change nothing', async () => {
      const driver = new FakeDriver({ failActions: { pause: 'libvirt: cannot pause, the monitor hung', destroy: 'disk busy' } });
      const spec = sampleSpec();
      await driver.spawn(spec);
      const error = await rejection(driver.pause(spec.id));
      expect(error).toBeInstanceOf(DriverError);
      expect(error.message).toBe('libvirt: cannot pause, the monitor hung');
      expect((await driver.info(spec.id))?.powerState).toBe(RUNNING);
      await expect(driver.destroy(spec.id)).rejects.toThrow('disk busy');
      expect(await driver.info(spec.id)).not.toBeNull();
      // A missing instance is still missing, whatever failure was asked for.
      await expect(driver.pause(randomUUID())).rejects.toBeInstanceOf(InstanceNotFound);
      await expect(driver.destroy(randomUUID())).resolves.toBeUndefined();
      await driver.suspend(spec.id);
      expect((await driver.info(spec.id))?.powerState).toBe(SUSPENDED);
    });

    it('failActions fail resize, rebuild and snapshot too, changing nothing and leaving no file', async () => {
      const driver = new FakeDriver({ failActions: { resize: 'no room to grow', rebuild: 'image corrupt', snapshot: 'disk full' } });
      const spec = sampleSpec();
      await driver.spawn(spec);
      await expect(driver.resize(spec.id, { ...spec.flavor, ramMb: 4096 })).rejects.toThrow('no room to grow');
      await expect(driver.rebuild({ ...spec, image: { ...spec.image, name: 'other' } })).rejects.toThrow('image corrupt');
      await expect(driver.snapshot(spec.id)).rejects.toThrow('disk full');
      expect(await driver.info(spec.id)).toEqual({ id: spec.id, powerState: RUNNING, vcpus: spec.flavor.vcpus, ramMb: spec.flavor.ramMb });
      await expect(driver.snapshot(randomUUID())).rejects.toBeInstanceOf(InstanceNotFound);
    });
  });

  describe('power states', () => {
    async function running() {
      const driver = new FakeDriver();
      const spec = sampleSpec();
      await driver.spawn(spec);
      return { driver, spec, id: spec.id };
    }

    it('refuses actions from a wrong state, in words', async () => {
      const { driver, id } = await running();
      await driver.powerOff(id);
      await expect(driver.pause(id)).rejects.toThrow('cannot pause: instance is shut down');
      await expect(driver.reboot(id, 'SOFT')).rejects.toThrow('cannot reboot: instance is shut down');
      await expect(driver.suspend(id)).rejects.toThrow('cannot suspend: instance is shut down');
      await expect(driver.resume(id)).rejects.toThrow('cannot resume: instance is shut down');
      await expect(driver.unpause(id)).rejects.toThrow('cannot unpause: instance is shut down');
      expect((await driver.info(id))?.powerState).toBe(SHUTDOWN);
      await driver.powerOn(id);
      await driver.pause(id);
      await expect(driver.powerOn(id)).rejects.toThrow('cannot power on: instance is paused');
      await expect(driver.resume(id)).rejects.toThrow('cannot resume: instance is paused');
    });

    it('a hard reboot works from any state and ends RUNNING', async () => {
      const { driver, id } = await running();
      for (const reach of [() => driver.powerOff(id), () => driver.pause(id), () => driver.suspend(id)]) {
        await driver.reboot(id, 'HARD');
        await reach();
        await driver.reboot(id, 'HARD');
        expect((await driver.info(id))?.powerState).toBe(RUNNING);
      }
    });

    it('actions that reach a state already held succeed', async () => {
      const { driver, id } = await running();
      await driver.powerOn(id);
      await driver.unpause(id);
      await driver.resume(id);
      await driver.pause(id);
      await driver.pause(id);
      await driver.suspend(id);
      await driver.suspend(id);
      expect((await driver.info(id))?.powerState).toBe(SUSPENDED);
    });

    it('simulateGuestPowerOff stops it and emits a stopped event', async () => {
      const { driver, id } = await running();
      const events: LifecycleEvent[] = [];
      const unsubscribe = driver.onEvent((e) => events.push(e));
      driver.simulateGuestPowerOff(id);
      expect(events).toEqual([{ id, event: 'stopped', powerState: SHUTDOWN }]);
      expect((await driver.info(id))?.powerState).toBe(SHUTDOWN);
      // The driver's own calls are not reported as events.
      await driver.powerOn(id);
      unsubscribe();
      driver.simulateGuestPowerOff(id);
      expect(events).toHaveLength(1);
      expect(() => driver.simulateGuestPowerOff(randomUUID())).toThrow(InstanceNotFound);
    });

    it('simulateCrash leaves it CRASHED with an event, and powerOn brings it back', async () => {
      const { driver, id } = await running();
      const events: LifecycleEvent[] = [];
      driver.onEvent((e) => events.push(e));
      driver.simulateCrash(id);
      expect(events).toEqual([{ id, event: 'crashed', powerState: CRASHED }]);
      expect(await driver.consoleLog(id, 1)).toMatch(/Kernel panic/);
      await driver.powerOn(id);
      expect((await driver.info(id))?.powerState).toBe(RUNNING);
    });
  });

  describe('instances', () => {
    it('writes a boot banner to the console, one line per action, and answers the last lines', async () => {
      const driver = new FakeDriver();
      const spec = sampleSpec();
      await driver.spawn(spec);
      expect(await driver.consoleLog(spec.id)).toContain(`aster-guest ready hostname=${spec.hostname} instance=${spec.id}\n`);
      await driver.pause(spec.id);
      await driver.unpause(spec.id);
      const lastTwo = await driver.consoleLog(spec.id, 2);
      expect(lastTwo).toBe('host: vcpus paused\nhost: vcpus resumed\n');
      expect(await driver.consoleLog(spec.id, 0)).toBe('');
    });

    it('gives each instance its own console ports on 127.0.0.1, and frees them on destroy', async () => {
      const driver = new FakeDriver();
      const [a, b] = [sampleSpec(), sampleSpec()];
      await driver.spawn(a);
      await driver.spawn(b);
      const endpoints = [...(await driver.consoles(a.id)), ...(await driver.consoles(b.id))];
      expect(endpoints.map((e) => e.type)).toEqual(['vnc', 'spice', 'serial', 'vnc', 'spice', 'serial']);
      expect(endpoints.every((e) => e.host === '127.0.0.1')).toBe(true);
      expect(new Set(endpoints.map((e) => e.port)).size).toBe(6);
      const ofA = await driver.consoles(a.id);
      await driver.destroy(a.id);
      const c = sampleSpec();
      await driver.spawn(c);
      expect(await driver.consoles(c.id)).toEqual(ofA);
    });

    it('snapshot writes a small temporary file', async () => {
      const driver = new FakeDriver();
      const spec = sampleSpec();
      await driver.spawn(spec);
      const snapshot = await driver.snapshot(spec.id);
      expect(snapshot.diskFormat).toBe('raw');
      expect((await stat(snapshot.path)).size).toBeGreaterThan(0);
      await snapshot.cleanup();
      await expect(stat(snapshot.path)).rejects.toThrow();
    });

    it('resize records the new flavor and keeps the power state', async () => {
      const driver = new FakeDriver();
      const spec = sampleSpec();
      await driver.spawn(spec);
      await driver.powerOff(spec.id);
      await driver.resize(spec.id, { ...spec.flavor, name: 'm1.small', vcpus: 2, ramMb: 2048 });
      expect(await driver.info(spec.id)).toEqual({ id: spec.id, powerState: SHUTDOWN, vcpus: 2, ramMb: 2048 });
      await driver.powerOn(spec.id);
      await driver.pause(spec.id);
      await expect(driver.resize(spec.id, spec.flavor)).rejects.toThrow('cannot resize: instance is paused');
    });

    it('rebuild replaces the spec: a running one boots again, a stopped one stays stopped', async () => {
      const driver = new FakeDriver();
      const spec = sampleSpec();
      await driver.spawn(spec);
      const rebuilt = { ...spec, hostname: 'rebuilt-host', image: { ...spec.image, name: 'other-image' } };
      expect(await driver.rebuild(rebuilt)).toMatchObject({ id: spec.id, powerState: RUNNING });
      expect(await driver.consoleLog(spec.id, 1)).toBe(`aster-guest ready hostname=rebuilt-host instance=${spec.id}\n`);
      await driver.powerOff(spec.id);
      expect(await driver.rebuild(spec)).toMatchObject({ powerState: SHUTDOWN });
    });

    it('keeps its own copy of the spec', async () => {
      const driver = new FakeDriver();
      const spec = sampleSpec();
      await driver.spawn(spec);
      spec.flavor.vcpus = 64;
      expect((await driver.info(spec.id))?.vcpus).toBe(1);
    });
  });

  it('reports the configured inventory and capabilities', async () => {
    const defaults = new FakeDriver();
    expect(await defaults.inventory()).toEqual({ vcpus: 16, ramMb: 65536, diskGb: 1000, reservedRamMb: 512, reservedDiskGb: 0 });
    const sized = new FakeDriver({ vcpus: 4, ramMb: 8192, diskGb: 80, reservedRamMb: 256, hypervisorType: 'fake-kvm' });
    expect(await sized.inventory()).toEqual({ vcpus: 4, ramMb: 8192, diskGb: 80, reservedRamMb: 256, reservedDiskGb: 0 });
    expect(await sized.capabilities()).toEqual({ hypervisorType: 'fake-kvm', arch: 'x86_64', consoles: ['vnc', 'spice', 'serial'] });
  });
});
