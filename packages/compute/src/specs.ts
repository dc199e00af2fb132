import { z } from 'zod';

/**
 * What a compute host is told about an instance, and what it tells of itself: the schemas the job contracts
 * carry and the hypervisor drivers take. They live here, beside the rest of the compute model, so that a
 * driver needs no job layer to know what it builds.
 */

const uuid = z.string().uuid();

export const flavorSpec = z.object({
  id: uuid,
  name: z.string(),
  vcpus: z.number().int().positive(),
  ramMb: z.number().int().positive(),
  diskGb: z.number().int().nonnegative(),
  extraSpecs: z.record(z.string(), z.string()).default({}),
});

export const imageSpec = z.object({
  id: uuid,
  name: z.string(),
  diskFormat: z.enum(['qcow2', 'raw', 'iso']),
  checksumSha256: z.string().nullable(),
  sizeBytes: z.number().int().nonnegative().nullable(),
  properties: z.record(z.string(), z.string()).default({}),
  /**
   * Where the host fetches the image's data: a signed path with query (`/v1/images/<id>/file?op=read&…`)
   * relative to the API's base URL, valid for hours (builds may queue), needing no token.
   */
  downloadPath: z.string(),
});

export const portSpec = z.object({
  id: uuid,
  networkId: uuid,
  networkName: z.string(),
  bridge: z.string().nullable(),
  mac: z.string(),
  ip: z.string(),
  cidr: z.string(),
  gateway: z.string().nullable(),
  dnsServers: z.array(z.string()),
  /** An external (provider) network, like `public`: the host's libvirt dnsmasq serves its DHCP, not OVN. */
  external: z.boolean().default(true),
  mtu: z.number().int().min(576).max(9000).default(1500),
  /**
   * The network's metadata port (device_owner network:distributed): the host's end of the path by which
   * guests on this network reach 169.254.169.254; null when it has none (external networks are served by
   * the agent's DNAT instead).
   */
  metadata: z
    .object({ portId: uuid, mac: z.string(), ip: z.string(), prefixLength: z.number().int().min(0).max(32) })
    .nullable()
    .default(null),
});
export type PortSpec = z.output<typeof portSpec>;

/** Everything a host needs to create an instance; it reads nothing else. */
export const instanceSpec = z.object({
  id: uuid,
  name: z.string(),
  hostname: z.string(),
  projectId: uuid,
  flavor: flavorSpec,
  image: imageSpec,
  ports: z.array(portSpec),
  keyName: z.string().nullable(),
  keyData: z.string().nullable(),
  userData: z.string().nullable(),
  metadata: z.record(z.string(), z.string()),
  /** As the metadata service tells them, so the config drive says the same. */
  reservationId: z.string().default(''),
  launchIndex: z.number().int().nonnegative().default(0),
  createdAt: z.string(),
});
export type InstanceSpec = z.output<typeof instanceSpec>;

/** What a host offers to placement. */
export const inventorySpec = z.object({
  vcpus: z.number().int().nonnegative(),
  ramMb: z.number().int().nonnegative(),
  diskGb: z.number().int().nonnegative(),
  reservedRamMb: z.number().int().nonnegative().default(0),
  reservedDiskGb: z.number().int().nonnegative().default(0),
});

/** What a host's hypervisor can do; a driver may add facts of its own. */
export const capabilitiesSpec = z
  .object({
    hypervisorType: z.string(),
    arch: z.string(),
    consoles: z.array(z.enum(['vnc', 'spice', 'serial'])),
  })
  .catchall(z.unknown());
