import { createHmac, timingSafeEqual } from 'node:crypto';

/**
 * What a guest learns about itself, in OpenStack's formats (nova/api/metadata/base.py, nova/virt/netutils.py):
 * the documents served by the metadata listener and written to the config drive. Pure: no I/O.
 */

/** One address of the instance, as IPAM gave it. */
export interface MetadataPort {
  id: string;
  networkId: string;
  networkName: string;
  mac: string;
  ip: string;
  /** The subnet, `a.b.c.d/n`. */
  cidr: string;
  gateway: string | null;
  dnsServers: string[];
}

export interface MetadataSource {
  id: string;
  name: string;
  hostname: string;
  projectId: string;
  availabilityZone: string;
  keyName: string | null;
  /** The OpenSSH public key line of `keyName`. */
  keyData: string | null;
  /** As given to servers.create and stored: the text itself, not base64. */
  userData: string | null;
  metadata: Record<string, string>;
  ports: MetadataPort[];
  launchIndex: number;
  reservationId: string;
  flavorName: string | null;
  createdAt: string;
}

/** EC2's dated versions that Nova serves (its `VERSIONS`); `latest` is the last. */
export const EC2_VERSIONS = ['1.0', '2007-01-19', '2007-03-01', '2007-08-29', '2007-10-10', '2007-12-15', '2008-02-01', '2008-09-01', '2009-04-04'] as const;

/**
 * OpenStack's dated versions, Folsom to Rocky; `latest` is the last. Later ones (Victoria's dedicated_cpus)
 * describe what Aster does not have.
 */
export const OPENSTACK_VERSIONS = ['2012-08-10', '2013-04-04', '2013-10-17', '2015-10-15', '2016-06-30', '2016-10-06', '2017-02-22', '2018-08-27'] as const;

const GRIZZLY = '2013-04-04';
const HAVANA = '2013-10-17';
const LIBERTY = '2015-10-15';
const NEWTON_ONE = '2016-06-30';
const NEWTON_TWO = '2016-10-06';

/** Nova's default availability zone, for instances placed in none. */
export const DEFAULT_AVAILABILITY_ZONE = 'nova';

// Dated versions are ISO dates, so they compare as strings.
const since = (required: string, version: string) => version >= required;

/** A version named in a path: a dated one Aster serves, or `latest`; null for anything else. */
export function openstackVersion(name: string): string | null {
  if (name === 'latest') return OPENSTACK_VERSIONS[OPENSTACK_VERSIONS.length - 1]!;
  return (OPENSTACK_VERSIONS as readonly string[]).includes(name) ? name : null;
}

export function ec2Version(name: string): string | null {
  if (name === 'latest') return EC2_VERSIONS[EC2_VERSIONS.length - 1]!;
  return (EC2_VERSIONS as readonly string[]).includes(name) ? name : null;
}

/** The files of `/openstack/<version>/`, in Nova's order. */
export function openstackFiles(version: string, hasUserData: boolean): string[] {
  const files = ['meta_data.json'];
  if (hasUserData) files.push('user_data');
  if (since(GRIZZLY, version)) files.push('password');
  if (since(HAVANA, version)) files.push('vendor_data.json');
  if (since(LIBERTY, version)) files.push('network_data.json');
  if (since(NEWTON_TWO, version)) files.push('vendor_data2.json');
  return files;
}

export interface MetaDataJson {
  uuid: string;
  name: string;
  hostname: string;
  launch_index: number;
  availability_zone: string;
  project_id?: string;
  public_keys?: Record<string, string>;
  keys?: { name: string; type: 'ssh'; data: string }[];
  meta: Record<string, string>;
  devices?: never[];
}

export interface NetworkDataJson {
  links: { id: string; vif_id: string; type: 'phy'; mtu: number | null; ethernet_mac_address: string }[];
  networks: {
    id: string;
    type: 'ipv4';
    link: string;
    ip_address: string;
    netmask: string;
    routes: { network: string; netmask: string; gateway: string }[];
    network_id: string;
    services: DnsService[];
  }[];
  services: DnsService[];
}
type DnsService = { type: 'dns'; address: string };

export interface MetadataDocuments {
  metaData: MetaDataJson;
  networkData: NetworkDataJson;
  vendorData: Record<string, never>;
  /** The bytes a guest reads as user_data; null when none was given. */
  userData: Buffer | null;
}

function netmaskOf(cidr: string): string {
  const prefix = Number(cidr.split('/')[1]);
  const mask = prefix <= 0 ? 0 : prefix >= 32 ? 0xffffffff : (0xffffffff << (32 - prefix)) >>> 0;
  return [mask >>> 24, (mask >>> 16) & 255, (mask >>> 8) & 255, mask & 255].join('.');
}

/** Nova's interface name for a port: `tap` and the start of the port id (fits IFNAMSIZ). */
export const tapName = (portId: string) => `tap${portId.slice(0, 11)}`;

function networkData(ports: MetadataPort[]): NetworkDataJson {
  const dns = (servers: string[]): DnsService[] => servers.map((address) => ({ type: 'dns', address }));
  const links = ports.map((p) => ({ id: tapName(p.id), vif_id: p.id, type: 'phy' as const, mtu: null, ethernet_mac_address: p.mac }));
  const networks = ports.map((p, i) => ({
    id: `network${i}`,
    type: 'ipv4' as const,
    link: tapName(p.id),
    ip_address: p.ip,
    netmask: netmaskOf(p.cidr),
    routes: p.gateway ? [{ network: '0.0.0.0', netmask: '0.0.0.0', gateway: p.gateway }] : [],
    network_id: p.networkId,
    services: dns(p.dnsServers),
  }));
  const all = [...new Set(ports.flatMap((p) => p.dnsServers))];
  return { links, networks, services: dns(all) };
}

/**
 * The OpenStack documents of one instance as seen at `version` (a dated version; `latest` by default):
 * meta_data.json, network_data.json, vendor_data.json and the user data bytes. Keys appear only when the
 * instance has one, as in Nova.
 */
export function metadataDocuments(src: MetadataSource, version: string = openstackVersion('latest')!): MetadataDocuments {
  const metaData: MetaDataJson = {
    uuid: src.id,
    name: src.name,
    hostname: src.hostname,
    launch_index: src.launchIndex,
    availability_zone: src.availabilityZone,
    meta: { ...src.metadata },
  };
  if (since(LIBERTY, version)) metaData.project_id = src.projectId;
  if (src.keyName && src.keyData) {
    metaData.public_keys = { [src.keyName]: src.keyData };
    metaData.keys = [{ name: src.keyName, type: 'ssh', data: src.keyData }];
  }
  // No tagged devices: Aster has neither device tags nor volumes.
  if (since(NEWTON_ONE, version)) metaData.devices = [];
  return {
    metaData,
    networkData: networkData(src.ports),
    vendorData: {},
    userData: src.userData === null ? null : Buffer.from(src.userData, 'utf8'),
  };
}

/**
 * EC2's meta-data tree: a string is a file, an object a folder. A folder's `_name` (Nova's convention) is
 * how its parent lists it, for `public-keys/` answering `0=<key name>`.
 */
export type Ec2Value = string | Ec2Tree;
export interface Ec2Tree {
  [name: string]: Ec2Value;
}

/** The `/<version>/meta-data/` tree of one instance (`latest` by default), with what each EC2 version had. */
export function ec2MetaData(src: MetadataSource, version: string = ec2Version('latest')!): Ec2Tree {
  const order: readonly string[] = EC2_VERSIONS;
  const ec2Since = (required: string) => order.indexOf(version) >= order.indexOf(required);
  const tree: Ec2Tree = {
    'ami-launch-index': String(src.launchIndex),
    hostname: src.hostname,
    'instance-id': src.id,
    'local-ipv4': src.ports[0]?.ip ?? '',
    'reservation-id': src.reservationId,
  };
  if (src.keyName && src.keyData) tree['public-keys'] = { '0': { _name: `0=${src.keyName}`, 'openssh-key': src.keyData } };
  if (ec2Since('2007-01-19')) tree['local-hostname'] = src.hostname;
  if (ec2Since('2007-08-29') && src.flavorName) tree['instance-type'] = src.flavorName;
  if (ec2Since('2008-02-01')) tree.placement = { 'availability-zone': src.availabilityZone };
  return tree;
}

/** The tree as the config drive's `ec2/<version>/meta-data.json` holds it: without the listing names. */
export function ec2MetaDataForConfigDrive(src: MetadataSource, version?: string): Ec2Tree {
  const strip = (tree: Ec2Tree): Ec2Tree =>
    Object.fromEntries(Object.entries(tree).filter(([k]) => k !== '_name').map(([k, v]) => [k, typeof v === 'string' ? v : strip(v)]));
  return strip(ec2MetaData(src, version));
}

/** A folder's listing as EC2 gives it: sorted, sub-folders with a trailing slash (or their `_name`). */
export function ec2Listing(tree: Ec2Tree): string {
  return Object.keys(tree)
    .filter((k) => k !== '_name')
    .sort()
    .map((k) => {
      const v = tree[k]!;
      if (typeof v === 'string') return k;
      return typeof v._name === 'string' ? v._name : `${k}/`;
    })
    .join('\n');
}

/** What is at `path` (segments below meta-data/): a file's text, a folder's listing, or null. */
export function ec2Lookup(tree: Ec2Tree, path: readonly string[]): { kind: 'file' | 'folder'; body: string } | null {
  let node: Ec2Value = tree;
  for (const segment of path) {
    if (typeof node === 'string' || segment === '_name' || !Object.hasOwn(node, segment)) return null;
    node = node[segment]!;
  }
  return typeof node === 'string' ? { kind: 'file', body: node } : { kind: 'folder', body: ec2Listing(node) };
}

/**
 * The proxy's proof that it speaks for an instance (Neutron's X-Instance-ID-Signature): hex HMAC-SHA256 of
 * the instance id under the secret shared by the proxies and the metadata listener.
 */
export function signInstanceId(secret: string, instanceId: string): string {
  if (!secret) throw new Error('the metadata secret is empty');
  return createHmac('sha256', secret).update(instanceId, 'utf8').digest('hex');
}

const HEX_SHA256 = /^[0-9a-fA-F]{64}$/;

/** Whether `signature` is the instance id's; compared in constant time, false for anything malformed. */
export function verifyInstanceSignature(secret: unknown, instanceId: unknown, signature: unknown): boolean {
  if (typeof secret !== 'string' || !secret || typeof instanceId !== 'string' || !instanceId) return false;
  if (typeof signature !== 'string' || !HEX_SHA256.test(signature)) return false;
  const expected = Buffer.from(signInstanceId(secret, instanceId), 'hex');
  return timingSafeEqual(expected, Buffer.from(signature, 'hex'));
}
