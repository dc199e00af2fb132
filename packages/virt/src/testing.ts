import { randomUUID } from 'node:crypto';
import { stat } from 'node:fs/promises';
import { powerStates, type PowerState } from '@aster/compute';
import { capabilitiesSpec, instanceSpec, inventorySpec } from '@aster/compute/specs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DriverError, InstanceNotFound, type Driver, type InstanceInfo, type InstanceSpec } from './driver.ts';

export interface DriverUnderTest {
  /** Not yet initialised: the suite calls `init()` first and `close()` at the end. */
  driver: Driver;
  cleanup?: () => Promise<void>;
}

export interface DriverContractOptions {
  /** Builds the spec of each instance the suite spawns (a real image for a real hypervisor). */
  spec?: (id: string) => InstanceSpec;
  /** For each test and hook; generous by default, since a real guest boots in software emulation. */
  timeoutMs?: number;
  /** A driver whose spawn fails, or a spec that makes it fail; checks a failed spawn leaves nothing behind. */
  makeFailing?: () => Promise<DriverUnderTest & { spec?: (id: string) => InstanceSpec }>;
}

const SAMPLE_PROJECT_ID = '6f1c2a8e-0b7d-4c59-9a3e-2d4b8f1e7c01';
const SAMPLE_FLAVOR_ID = '0c6a3e52-7d41-4b8f-a2d9-5e1f3c7b9a10';
const SAMPLE_IMAGE_ID = '9b2e4f61-3a8c-4d07-b5e2-71c4a9d3f8e2';
const SAMPLE_NETWORK_ID = 'c4d7a1e3-5f92-4b6e-8a0d-3e9b2c6f1a57';

/** A valid instance spec: a tiny flavor, the tiny guest image, one port on a private network. */
export function sampleSpec(id: string = randomUUID()): InstanceSpec {
  const hex = id.replace(/-/g, '');
  const short = id.slice(0, 8);
  const byte = (n: number) => hex.slice(n * 2, n * 2 + 2);
  return instanceSpec.parse({
    id,
    name: `contract-${short}`,
    hostname: `contract-${short}`,
    projectId: SAMPLE_PROJECT_ID,
    flavor: { id: SAMPLE_FLAVOR_ID, name: 'm1.tiny', vcpus: 1, ramMb: 128, diskGb: 1, extraSpecs: {} },
    image: {
      id: SAMPLE_IMAGE_ID,
      name: 'aster-tiny',
      diskFormat: 'qcow2',
      checksumSha256: null,
      sizeBytes: null,
      properties: {},
      // Where a host would fetch it: a signed path under the API's URL (a driver under test may use its own).
      downloadPath: `/v1/images/${SAMPLE_IMAGE_ID}/file?op=read&expires=0&sig=${'0'.repeat(64)}`,
    },
    ports: [
      {
        id: randomUUID(),
        networkId: SAMPLE_NETWORK_ID,
        networkName: 'private',
        bridge: null,
        mac: `52:54:00:${byte(0)}:${byte(1)}:${byte(2)}`,
        ip: `10.0.0.${2 + (parseInt(byte(0), 16) % 250)}`,
        cidr: '10.0.0.0/24',
        gateway: '10.0.0.1',
        dnsServers: ['10.0.0.1'],
      },
    ],
    keyName: null,
    keyData: null,
    userData: null,
    metadata: {},
    createdAt: new Date().toISOString(),
  });
}

const { RUNNING, PAUSED, SHUTDOWN, SUSPENDED } = powerStates;

/**
 * The contract written on `Driver`, as a vitest suite, run against every implementation. One instance goes
 * through its whole life (so a real hypervisor boots one guest), and nothing is assumed about timing beyond
 * what the interface promises: each method resolves once its state is reached.
 */
export function driverContract(
  name: string,
  make: () => Promise<DriverUnderTest>,
  options: DriverContractOptions = {},
): void {
  const timeout = options.timeoutMs ?? 180_000;
  const specFor = options.spec ?? sampleSpec;
  // A guest that ignores ACPI is forced off well within one test's time.
  const powerOffTimeoutSeconds = Math.max(1, Math.min(30, Math.floor(timeout / 4000)));

  describe(`Driver contract: ${name}`, () => {
    let subject: DriverUnderTest | undefined;
    const spawned = new Set<string>();
    const driver = (): Driver => {
      if (!subject) throw new Error(`${name}: the driver was not created`);
      return subject.driver;
    };
    const powerStateOf = async (id: string): Promise<PowerState | undefined> => (await driver().info(id))?.powerState;
    const listed = async (id: string) => (await driver().list()).filter((info) => info.id === id).length;

    beforeAll(async () => {
      subject = await make();
      await subject.driver.init();
    }, timeout);

    afterAll(async () => {
      if (!subject) return;
      const failures: unknown[] = [];
      for (const id of spawned) await subject.driver.destroy(id).catch((error: unknown) => failures.push(error));
      await subject.driver.close().catch((error: unknown) => failures.push(error));
      await subject.cleanup?.();
      if (failures.length > 0) throw new AggregateError(failures, `${name}: cleaning up after the contract suite failed`);
    }, timeout);

    describe('the host', () => {
      it('reports a sane inventory', async () => {
        const inventory = await driver().inventory();
        expect(() => inventorySpec.parse(inventory)).not.toThrow();
        expect(inventory.vcpus).toBeGreaterThan(0);
        expect(inventory.ramMb).toBeGreaterThan(inventory.reservedRamMb);
        expect(inventory.diskGb).toBeGreaterThanOrEqual(inventory.reservedDiskGb);
      }, timeout);

      it('reports its capabilities', async () => {
        const capabilities = await driver().capabilities();
        expect(() => capabilitiesSpec.parse(capabilities)).not.toThrow();
        expect(capabilities.hypervisorType).not.toBe('');
        expect(capabilities.arch).not.toBe('');
        expect(capabilities.consoles.length).toBeGreaterThan(0);
        expect(new Set(capabilities.consoles).size).toBe(capabilities.consoles.length);
      }, timeout);

      it('answers an unsubscribe function for event listeners', async () => {
        const unsubscribe = driver().onEvent(() => {});
        expect(typeof unsubscribe).toBe('function');
        unsubscribe();
        unsubscribe();
      }, timeout);
    });

    describe('an instance that does not exist', () => {
      const missing = randomUUID();
      const actions: Record<string, (d: Driver) => Promise<unknown>> = {
        'soft reboot': (d) => d.reboot(missing, 'SOFT'),
        'hard reboot': (d) => d.reboot(missing, 'HARD'),
        powerOff: (d) => d.powerOff(missing, { timeoutSeconds: powerOffTimeoutSeconds }),
        powerOn: (d) => d.powerOn(missing),
        pause: (d) => d.pause(missing),
        unpause: (d) => d.unpause(missing),
        suspend: (d) => d.suspend(missing),
        resume: (d) => d.resume(missing),
        snapshot: (d) => d.snapshot(missing),
        resize: (d) => d.resize(missing, specFor(missing).flavor),
        rebuild: (d) => d.rebuild(specFor(missing)),
        rescue: (d) => d.rescue(specFor(missing)),
        unrescue: (d) => d.unrescue(missing),
        consoles: (d) => d.consoles(missing),
        consoleLog: (d) => d.consoleLog(missing),
      };
      for (const [action, run] of Object.entries(actions)) {
        it(`${action} throws InstanceNotFound`, async () => {
          await expect(run(driver())).rejects.toBeInstanceOf(InstanceNotFound);
        }, timeout);
      }

      it('is absent from info and list', async () => {
        expect(await driver().info(missing)).toBeNull();
        expect(await listed(missing)).toBe(0);
      }, timeout);

      it('can be destroyed', async () => {
        await expect(driver().destroy(missing)).resolves.toBeUndefined();
      }, timeout);
    });

    // One guest through its whole life; each step starts from the state the previous one reached.
    describe('an instance, from spawn to destroy', () => {
      const spec = specFor(randomUUID());
      const id = spec.id;
      let spawnedInfo: InstanceInfo;
      const steps: string[] = [];

      let stepsWhenSpawned = 0;

      beforeAll(async () => {
        spawned.add(id);
        spawnedInfo = await driver().spawn(spec, (step) => steps.push(step));
        stepsWhenSpawned = steps.length;
      }, timeout);

      it('spawn reports its build steps as they are done, each once, and none after it answered', () => {
        expect(steps.length).toBeGreaterThan(0);
        expect(new Set(steps).size).toBe(steps.length);
        expect(steps).toHaveLength(stepsWhenSpawned);
      });

      it('spawn answers it RUNNING with its flavor', () => {
        expect(spawnedInfo).toEqual({ id, powerState: RUNNING, vcpus: spec.flavor.vcpus, ramMb: spec.flavor.ramMb });
      });

      it('shows up in info and list', async () => {
        expect(await driver().info(id)).toMatchObject({ id, powerState: RUNNING });
        expect(await listed(id)).toBe(1);
      }, timeout);

      it('spawning the same id again answers it without a second instance', async () => {
        expect(await driver().spawn(spec)).toMatchObject({ id, powerState: RUNNING });
        expect(await listed(id)).toBe(1);
      }, timeout);

      it('writes console output, and the last lines on request', async () => {
        await expect.poll(() => driver().consoleLog(id), { timeout: timeout / 2, interval: 500 }).not.toBe('');
        const last = await driver().consoleLog(id, 1);
        expect(last.split(/\r?\n/).filter((line) => line.trim() !== '').length).toBeLessThanOrEqual(1);
      }, timeout);

      it('lists its console endpoints', async () => {
        const [endpoints, capabilities] = await Promise.all([driver().consoles(id), driver().capabilities()]);
        expect(endpoints.length).toBeGreaterThan(0);
        for (const endpoint of endpoints) {
          expect(capabilities.consoles).toContain(endpoint.type);
          expect(endpoint.host).not.toBe('');
          expect(Number.isInteger(endpoint.port) && endpoint.port > 0 && endpoint.port < 65536).toBe(true);
        }
        expect(new Set(endpoints.map((e) => e.type)).size).toBe(endpoints.length);
        expect(new Set(endpoints.map((e) => `${e.host}:${e.port}`)).size).toBe(endpoints.length);
      }, timeout);

      const transitions: [string, (d: Driver) => Promise<void>, PowerState][] = [
        ['powerOff stops it', (d) => d.powerOff(id, { timeoutSeconds: powerOffTimeoutSeconds }), SHUTDOWN],
        ['powerOff of a stopped instance succeeds', (d) => d.powerOff(id, { timeoutSeconds: powerOffTimeoutSeconds }), SHUTDOWN],
        ['powerOn starts it', (d) => d.powerOn(id), RUNNING],
        ['pause pauses it', (d) => d.pause(id), PAUSED],
        ['unpause runs it again', (d) => d.unpause(id), RUNNING],
        ['suspend suspends it', (d) => d.suspend(id), SUSPENDED],
        ['resume runs it again', (d) => d.resume(id), RUNNING],
        ['a soft reboot leaves it running', (d) => d.reboot(id, 'SOFT'), RUNNING],
        ['a hard reboot leaves it running', (d) => d.reboot(id, 'HARD'), RUNNING],
      ];
      for (const [title, act, expected] of transitions) {
        it(title, async () => {
          await act(driver());
          expect(await powerStateOf(id)).toBe(expected);
        }, timeout);
      }

      it('snapshot writes a file that cleanup removes', async () => {
        const snapshot = await driver().snapshot(id);
        try {
          expect(['qcow2', 'raw']).toContain(snapshot.diskFormat);
          const file = await stat(snapshot.path);
          expect(file.isFile()).toBe(true);
          expect(file.size).toBeGreaterThan(0);
        } finally {
          await snapshot.cleanup();
        }
        await expect(stat(snapshot.path)).rejects.toThrow();
        expect(await powerStateOf(id)).toBe(RUNNING);
      }, timeout);

      it('rescue answers it RUNNING, listed once', async () => {
        expect(await driver().rescue(spec)).toMatchObject({ id, powerState: RUNNING });
        expect(await listed(id)).toBe(1);
      }, timeout);

      it('unrescue answers it RUNNING, listed once', async () => {
        expect(await driver().unrescue(id)).toMatchObject({ id, powerState: RUNNING });
        expect(await listed(id)).toBe(1);
      }, timeout);

      it('rebuild answers it RUNNING', async () => {
        expect(await driver().rebuild(spec)).toMatchObject({ id, powerState: RUNNING });
        expect(await listed(id)).toBe(1);
      }, timeout);

      it('after a rebuild it is running, with its flavor', async () => {
        expect(await driver().info(id)).toMatchObject({ id, powerState: RUNNING, vcpus: spec.flavor.vcpus, ramMb: spec.flavor.ramMb });
      }, timeout);

      const resized = { ...spec.flavor, id: randomUUID(), name: `${spec.flavor.name}-resized`, ramMb: spec.flavor.ramMb * 2 };

      it('resize gives it the new flavor', async () => {
        await driver().resize(id, resized);
        expect(await driver().info(id)).toMatchObject({ id, vcpus: resized.vcpus, ramMb: resized.ramMb });
      }, timeout);

      it('resize of a running instance leaves it running', async () => {
        expect(await powerStateOf(id)).toBe(RUNNING);
      }, timeout);

      it('resize of a stopped instance leaves it stopped, with the new flavor', async () => {
        // Back to the first flavor, as a revert does: memory shrinks, the disk stays as it is.
        await driver().powerOff(id, { timeoutSeconds: powerOffTimeoutSeconds });
        await driver().resize(id, spec.flavor);
        expect(await driver().info(id)).toMatchObject({ id, powerState: SHUTDOWN, vcpus: spec.flavor.vcpus, ramMb: spec.flavor.ramMb });
        await driver().powerOn(id);
        expect(await powerStateOf(id)).toBe(RUNNING);
      }, timeout);

      it('destroy removes it from info and list', async () => {
        await driver().destroy(id);
        spawned.delete(id);
        expect(await driver().info(id)).toBeNull();
        expect(await listed(id)).toBe(0);
      }, timeout);

      it('destroying it again succeeds, and actions on it throw InstanceNotFound', async () => {
        await expect(driver().destroy(id)).resolves.toBeUndefined();
        await expect(driver().powerOn(id)).rejects.toBeInstanceOf(InstanceNotFound);
        await expect(driver().consoleLog(id)).rejects.toBeInstanceOf(InstanceNotFound);
      }, timeout);
    });

    const makeFailing = options.makeFailing;
    if (makeFailing) {
      describe('a spawn that fails', () => {
        let failing: Awaited<ReturnType<typeof makeFailing>> | undefined;

        beforeAll(async () => {
          failing = await makeFailing();
          await failing.driver.init();
        }, timeout);

        afterAll(async () => {
          if (!failing) return;
          try {
            await failing.driver.close();
          } finally {
            await failing.cleanup?.();
          }
        }, timeout);

        it('throws a DriverError that says why and leaves nothing behind', async () => {
          const d = failing!.driver;
          const spec = (failing!.spec ?? specFor)(randomUUID());
          try {
            const steps: string[] = [];
            const error: unknown = await d.spawn(spec, (step) => steps.push(step)).then(
              () => null,
              (e: unknown) => e,
            );
            const stepsWhenFailed = steps.length;
            expect(error).toBeInstanceOf(DriverError);
            expect((error as DriverError).message.trim()).not.toBe('');
            expect(await d.info(spec.id)).toBeNull();
            expect((await d.list()).some((info) => info.id === spec.id)).toBe(false);
            // Work the spawn started together may end after it failed: its steps are not reported then.
            await new Promise((resolve) => setTimeout(resolve, 500));
            expect(steps).toHaveLength(stepsWhenFailed);
          } finally {
            await d.destroy(spec.id);
          }
        }, timeout);
      });
    }
  });
}
