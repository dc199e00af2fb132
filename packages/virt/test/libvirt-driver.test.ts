import { randomBytes, randomUUID } from 'node:crypto';
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { instanceSpec } from '@aster/compute/specs';
import { afterAll, describe, expect, it } from 'vitest';
import type { InstanceSpec } from '../src/driver.ts';
import { parseDomainXml } from '../src/libvirt/domain-xml.ts';
import { LibvirtDriver, Virsh } from '../src/libvirt/index.ts';
import { driverContract, sampleSpec } from '../src/testing.ts';
import { realLibvirt } from './real-libvirt.ts';

/**
 * The driver contract against real libvirt and a real guest (software emulation), with the image fetched from
 * an HTTP server as the agent fetches it from the API. The guest's address is on libvirt's default network.
 */
// Known before the suites are collected: the contract builds its specs while it declares its tests.
const host = await realLibvirt();
const { guest, apiUrl } = host;
const stateDir = () => host.stateDir();

afterAll(() => host.close());

/** A spec for the guest on libvirt's default network, at an address unlikely to be in use (from the top of the range). */
function guestSpec(id: string, overrides: { checksum?: string; vcpus?: number } = {}): InstanceSpec {
  const base = sampleSpec(id);
  const octet = 200 + (randomBytes(1)[0]! % 50);
  return instanceSpec.parse({
    ...base,
    flavor: { ...base.flavor, vcpus: overrides.vcpus ?? base.flavor.vcpus },
    image: { ...base.image, checksumSha256: overrides.checksum ?? guest.sha256, sizeBytes: guest.sizeBytes, downloadPath: host.downloadPath },
    ports: base.ports.map((p) => ({ ...p, networkName: 'public', ip: `192.168.122.${octet}`, cidr: '192.168.122.0/24', gateway: '192.168.122.1', dnsServers: ['192.168.122.1'] })),
  });
}

const make = async () => ({ driver: new LibvirtDriver({ stateDir: await stateDir(), apiUrl, domainType: 'qemu' }) });

/** More vCPUs than QEMU's `pc` machine takes: libvirt refuses the domain after disks, config drive and DHCP entry were made. */
const TOO_MANY_VCPUS = 300;

driverContract('LibvirtDriver (real libvirt, real guest)', make, {
  spec: (id) => guestSpec(id),
  timeoutMs: 240_000,
  makeFailing: async () => ({ ...(await make()), spec: (id: string) => guestSpec(id, { vcpus: TOO_MANY_VCPUS }) }),
});

describe('LibvirtDriver beyond the contract', () => {
  it('a failed spawn leaves no domain, no files and no DHCP entry; the error carries libvirt’s words', async () => {
    const dir = await stateDir();
    const driver = new LibvirtDriver({ stateDir: dir, apiUrl, domainType: 'qemu' });
    await driver.init();
    const spec = guestSpec(randomUUID(), { vcpus: TOO_MANY_VCPUS });
    const error = await driver.spawn(spec).then(() => null, (e: Error) => e);
    expect(error?.message).toMatch(/Maximum CPUs greater than specified machine type limit/);
    const virsh = new Virsh();
    expect(await virsh.run(['list', '--all', '--uuid'])).not.toContain(spec.id);
    expect(await virsh.run(['net-dumpxml', 'default'])).not.toContain(spec.ports[0]!.ip + "'");
    expect(existsSync(join(dir, 'instances', spec.id))).toBe(false);
    // The image stays cached for the next build; it was fetched once and checked.
    expect(existsSync(join(dir, 'images', `${guest.sha256}.qcow2`))).toBe(true);
    await driver.close();
  }, 120_000);

  it('reports each build step once it is done: the files made, the domain defined, the address reserved, the guest running', async () => {
    const dir = await stateDir();
    const driver = new LibvirtDriver({ stateDir: dir, apiUrl, domainType: 'qemu' });
    await driver.init();
    const spec = guestSpec(randomUUID());
    const virsh = (...args: string[]) => spawnSync('virsh', ['-q', '-c', 'qemu:///system', ...args], { encoding: 'utf8' });
    // Looked at the moment each step is reported (synchronously, before the driver goes on).
    const done: Record<string, () => boolean> = {
      'downloading image': () => existsSync(join(dir, 'images', `${guest.sha256}.qcow2`)),
      'creating disk': () => existsSync(join(dir, 'instances', spec.id, 'disk')),
      'writing config drive': () => existsSync(join(dir, 'instances', spec.id, 'disk.config')),
      'defining domain': () => virsh('domstate', spec.id).status === 0,
      'plugging network': () => virsh('net-dumpxml', 'default').stdout.includes(`ip='${spec.ports[0]!.ip}'`),
      starting: () => virsh('domstate', spec.id).stdout.trim() === 'running',
    };
    const seen: [string, boolean][] = [];
    try {
      await driver.spawn(spec, (step) => seen.push([step, done[step]?.() ?? false]));
      expect(seen.map(([step]) => step).sort()).toEqual(Object.keys(done).sort());
      expect(seen.filter(([, ok]) => !ok)).toEqual([]);
      expect(seen.at(-1)?.[0]).toBe('starting');
    } finally {
      await driver.destroy(spec.id);
      await driver.close();
    }
  }, 120_000);

  it('frees the network of a guest removed by hand when told its ports', async () => {
    const driver = new LibvirtDriver({ stateDir: await stateDir(), apiUrl, domainType: 'qemu' });
    await driver.init();
    const spec = guestSpec(randomUUID());
    await driver.spawn(spec);
    const virsh = new Virsh();
    await virsh.run(['destroy', spec.id]);
    await virsh.run(['undefine', spec.id]);
    const port = spec.ports[0]!;
    expect(await virsh.run(['net-dumpxml', 'default'])).toContain(`ip='${port.ip}'`);
    await driver.destroy(spec.id, { ports: [{ mac: port.mac, ip: port.ip }] });
    expect(await virsh.run(['net-dumpxml', 'default'])).not.toContain(`ip='${port.ip}'`);
    await driver.close();
  }, 120_000);

  it('refuses an image whose bytes do not match its checksum', async () => {
    const driver = new LibvirtDriver({ stateDir: await stateDir(), apiUrl, domainType: 'qemu' });
    await driver.init();
    const wrong = guestSpec(randomUUID(), { checksum: 'ab'.repeat(32) });
    await expect(driver.spawn(wrong)).rejects.toThrow(/checksum .* expected abab/);
    await driver.close();
  }, 120_000);

  it('plugs the guest into the Open vSwitch bridge by its port id, with its network’s MTU, and reports the datapath', async () => {
    const driver = new LibvirtDriver({ stateDir: await stateDir(), apiUrl, domainType: 'qemu' });
    await driver.init();
    const spec = guestSpec(randomUUID());
    try {
      await driver.spawn(spec);
      const xml = await new Virsh().run(['dumpxml', spec.id]);
      const nic = parseDomainXml(xml).nics[0];
      expect(nic).toMatchObject({ mac: spec.ports[0]!.mac, bridge: 'br-int', interfaceId: spec.ports[0]!.id, mtu: 1500 });
      expect((await driver.capabilities()).ovsDatapath).toMatch(/^(system|netdev)$/);
    } finally {
      await driver.destroy(spec.id);
      await driver.close();
    }
  }, 120_000);
});
