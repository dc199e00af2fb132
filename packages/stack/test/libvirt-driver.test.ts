import { randomBytes, randomUUID } from 'node:crypto';
import { createReadStream, existsSync } from 'node:fs';
import { chmod, mkdtemp, rm } from 'node:fs/promises';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { instanceSpec } from '@aster/jobs';
import type { InstanceSpec } from '@aster/virt';
import { LibvirtDriver, Virsh } from '@aster/virt/libvirt';
import { driverContract, sampleSpec } from '@aster/virt/testing';
import { afterAll, describe, expect, it } from 'vitest';
import { ensureGuestImage, type GuestImage } from '../src/guest-image.ts';
import { prepareHypervisor } from '../src/hypervisor.ts';
import { dataDir } from '../src/paths.ts';

/**
 * The driver contract against real libvirt and a real guest (software emulation), with the image fetched from
 * an HTTP server as the agent fetches it from the API. The guest's address is on libvirt's default network.
 */
// Known before the suites are collected: the contract builds its specs while it declares its tests.
await prepareHypervisor(() => {});
// Built once and cached in the data folder (npm test has built it already).
const guest: GuestImage = await ensureGuestImage({ dataDir: dataDir(process.env.ASTER_DATA_DIR) });
const server: Server = createServer((req, res) => {
  if (req.url !== '/v1/images/tiny/file?sig=test') {
    res.writeHead(403).end('bad signature');
    return;
  }
  res.writeHead(200, { 'content-type': 'application/octet-stream' });
  createReadStream(guest.path).pipe(res);
});
await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
const apiUrl = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
const dirs: string[] = [];

afterAll(async () => {
  await new Promise((resolve) => server.close(resolve));
  for (const dir of dirs) await rm(dir, { recursive: true, force: true });
});

async function stateDir(): Promise<string> {
  const base = process.env.ASTER_TEST_WORK_DIR ?? tmpdir();
  const dir = await mkdtemp(join(base, 'libvirt-'));
  await chmod(dir, 0o755); // QEMU runs as its own user
  dirs.push(dir);
  return dir;
}

/** A spec for the guest on libvirt's default network, at an address unlikely to be in use (from the top of the range). */
function guestSpec(id: string, overrides: { checksum?: string; vcpus?: number } = {}): InstanceSpec {
  const base = sampleSpec(id);
  const octet = 200 + (randomBytes(1)[0]! % 50);
  return instanceSpec.parse({
    ...base,
    flavor: { ...base.flavor, vcpus: overrides.vcpus ?? base.flavor.vcpus },
    image: { ...base.image, checksumSha256: overrides.checksum ?? guest.sha256, sizeBytes: guest.sizeBytes, downloadPath: '/v1/images/tiny/file?sig=test' },
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

  it('refuses an image whose bytes do not match its checksum, and an address it cannot plug', async () => {
    const driver = new LibvirtDriver({ stateDir: await stateDir(), apiUrl, domainType: 'qemu' });
    await driver.init();
    const wrong = guestSpec(randomUUID(), { checksum: 'ab'.repeat(32) });
    await expect(driver.spawn(wrong)).rejects.toThrow(/checksum .* expected abab/);
    const elsewhere = sampleSpec(randomUUID()); // 10.0.0.0/24: not the host's libvirt network
    await expect(driver.spawn(elsewhere)).rejects.toThrow(/cannot plug: its libvirt network default is 192\.168\.122\.1/);
    await driver.close();
  }, 120_000);
});
