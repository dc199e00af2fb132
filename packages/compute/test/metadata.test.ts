import { createHmac } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import {
  ec2Listing,
  ec2Lookup,
  ec2MetaData,
  ec2MetaDataForConfigDrive,
  ec2Version,
  metadataDocuments,
  OPENSTACK_VERSIONS,
  openstackFiles,
  openstackVersion,
  signInstanceId,
  verifyInstanceSignature,
  type MetadataSource,
} from '../src/index.ts';

const KEY = 'ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIH0gqRz3f5xg0x9Hq6G1o2a3b4c5d6e7f8g9h0i1j2k3 dave@laptop';

const source = (over: Partial<MetadataSource> = {}): MetadataSource => ({
  id: '3f1c2b9e-0a4d-4c5e-9f8a-7b6c5d4e3f21',
  name: 'web 1',
  hostname: 'web-1',
  projectId: '9d8c7b6a-5f4e-4d3c-8b2a-1f0e9d8c7b6a',
  availabilityZone: 'nova',
  keyName: 'dave',
  keyData: KEY,
  userData: '#!/bin/sh\necho hello\n',
  metadata: { role: 'web' },
  ports: [
    {
      id: 'a1b2c3d4-e5f6-4a7b-8c9d-0e1f2a3b4c5d',
      networkId: '11111111-2222-4333-8444-555555555555',
      networkName: 'public',
      mac: 'fa:16:3e:12:34:56',
      ip: '192.168.122.10',
      cidr: '192.168.122.0/24',
      gateway: '192.168.122.1',
      dnsServers: ['192.168.122.1'],
    },
  ],
  launchIndex: 0,
  reservationId: 'r-1a2b3c4d',
  flavorName: 'm1.tiny',
  createdAt: '2026-01-01T00:00:00.000Z',
  ...over,
});

describe('OpenStack documents', () => {
  it('writes meta_data.json as Nova does', () => {
    expect(metadataDocuments(source()).metaData).toEqual({
      uuid: '3f1c2b9e-0a4d-4c5e-9f8a-7b6c5d4e3f21',
      name: 'web 1',
      hostname: 'web-1',
      launch_index: 0,
      availability_zone: 'nova',
      project_id: '9d8c7b6a-5f4e-4d3c-8b2a-1f0e9d8c7b6a',
      public_keys: { dave: KEY },
      keys: [{ name: 'dave', type: 'ssh', data: KEY }],
      meta: { role: 'web' },
      devices: [],
    });
  });

  it('leaves out what older versions did not have', () => {
    const folsom = metadataDocuments(source(), '2012-08-10').metaData;
    expect(folsom).not.toHaveProperty('project_id');
    expect(folsom).not.toHaveProperty('devices');
    expect(metadataDocuments(source(), '2015-10-15').metaData).toMatchObject({ project_id: expect.any(String) });
  });

  it('writes network_data.json with a static address, the default route and DNS', () => {
    const two = source().ports.concat({
      id: 'b2c3d4e5-f6a7-4b8c-9d0e-1f2a3b4c5d6e',
      networkId: '66666666-7777-4888-9999-000000000000',
      networkName: 'private',
      mac: 'fa:16:3e:ab:cd:ef',
      ip: '10.20.0.5',
      cidr: '10.20.0.0/16',
      gateway: null,
      dnsServers: ['192.168.122.1', '1.1.1.1'],
    });
    expect(metadataDocuments(source({ ports: two })).networkData).toEqual({
      links: [
        { id: 'tapa1b2c3d4-e5', vif_id: 'a1b2c3d4-e5f6-4a7b-8c9d-0e1f2a3b4c5d', type: 'phy', mtu: null, ethernet_mac_address: 'fa:16:3e:12:34:56' },
        { id: 'tapb2c3d4e5-f6', vif_id: 'b2c3d4e5-f6a7-4b8c-9d0e-1f2a3b4c5d6e', type: 'phy', mtu: null, ethernet_mac_address: 'fa:16:3e:ab:cd:ef' },
      ],
      networks: [
        {
          id: 'network0',
          type: 'ipv4',
          link: 'tapa1b2c3d4-e5',
          ip_address: '192.168.122.10',
          netmask: '255.255.255.0',
          routes: [{ network: '0.0.0.0', netmask: '0.0.0.0', gateway: '192.168.122.1' }],
          network_id: '11111111-2222-4333-8444-555555555555',
          services: [{ type: 'dns', address: '192.168.122.1' }],
        },
        {
          id: 'network1',
          type: 'ipv4',
          link: 'tapb2c3d4e5-f6',
          ip_address: '10.20.0.5',
          netmask: '255.255.0.0',
          routes: [],
          network_id: '66666666-7777-4888-9999-000000000000',
          services: [
            { type: 'dns', address: '192.168.122.1' },
            { type: 'dns', address: '1.1.1.1' },
          ],
        },
      ],
      // Each server once.
      services: [
        { type: 'dns', address: '192.168.122.1' },
        { type: 'dns', address: '1.1.1.1' },
      ],
    });
    expect(metadataDocuments(source({ ports: [] })).networkData).toEqual({ links: [], networks: [], services: [] });
  });

  it('has no keys without a key pair, and no user data without any', () => {
    const docs = metadataDocuments(source({ keyName: null, keyData: null, userData: null }));
    expect(docs.metaData).not.toHaveProperty('public_keys');
    expect(docs.metaData).not.toHaveProperty('keys');
    expect(docs.userData).toBeNull();
    expect(docs.vendorData).toEqual({});
  });

  it('gives user data as the bytes stored, and survives JSON of any text', () => {
    const tricky = { 'quote"': 'a "b"\n\\c', emoji: 'é ☃ 😀', html: '</script><b>', nul: '\u0000' };
    const docs = metadataDocuments(source({ name: 'weird "name"\n', metadata: tricky, userData: 'é\r\n\u0000end' }));
    expect(docs.userData).toEqual(Buffer.from([0xc3, 0xa9, 0x0d, 0x0a, 0x00, 0x65, 0x6e, 0x64]));
    const parsed = JSON.parse(JSON.stringify(docs.metaData)) as { meta: unknown; name: string };
    expect(parsed.meta).toEqual(tricky);
    expect(parsed.name).toBe('weird "name"\n');
    // The source is not shared with the document.
    const src = source();
    metadataDocuments(src).metaData.meta.role = 'changed';
    expect(src.metadata.role).toBe('web');
  });
});

describe('versions', () => {
  it('knows the dated versions and latest', () => {
    expect(OPENSTACK_VERSIONS[0]).toBe('2012-08-10');
    expect(openstackVersion('latest')).toBe('2018-08-27');
    expect(openstackVersion('2013-10-17')).toBe('2013-10-17');
    expect(openstackVersion('2013-10-18')).toBeNull();
    expect(ec2Version('latest')).toBe('2009-04-04');
    expect(ec2Version('2007-01-19')).toBe('2007-01-19');
    expect(ec2Version('2010-01-01')).toBeNull();
  });

  it('lists the files of each version in Nova’s order', () => {
    expect(openstackFiles('2012-08-10', false)).toEqual(['meta_data.json']);
    expect(openstackFiles('2013-10-17', true)).toEqual(['meta_data.json', 'user_data', 'password', 'vendor_data.json']);
    expect(openstackFiles('2018-08-27', true)).toEqual(['meta_data.json', 'user_data', 'password', 'vendor_data.json', 'network_data.json', 'vendor_data2.json']);
  });
});

describe('EC2 meta-data', () => {
  it('builds the tree and lists folders as EC2 does', () => {
    const tree = ec2MetaData(source());
    expect(ec2Listing(tree).split('\n')).toEqual([
      'ami-launch-index',
      'hostname',
      'instance-id',
      'instance-type',
      'local-hostname',
      'local-ipv4',
      'placement/',
      'public-keys/',
      'reservation-id',
    ]);
    expect(ec2Lookup(tree, [])).toEqual({ kind: 'folder', body: ec2Listing(tree) });
    expect(ec2Lookup(tree, ['public-keys'])).toEqual({ kind: 'folder', body: '0=dave' });
    expect(ec2Lookup(tree, ['public-keys', '0'])).toEqual({ kind: 'folder', body: 'openssh-key' });
    expect(ec2Lookup(tree, ['public-keys', '0', 'openssh-key'])).toEqual({ kind: 'file', body: KEY });
    expect(ec2Lookup(tree, ['placement', 'availability-zone'])).toEqual({ kind: 'file', body: 'nova' });
    expect(ec2Lookup(tree, ['local-ipv4'])).toEqual({ kind: 'file', body: '192.168.122.10' });
    expect(ec2Lookup(tree, ['instance-id'])).toEqual({ kind: 'file', body: source().id });
    expect(ec2Lookup(tree, ['reservation-id'])).toEqual({ kind: 'file', body: 'r-1a2b3c4d' });
  });

  it('answers null for what is not there', () => {
    const tree = ec2MetaData(source({ keyName: null, keyData: null, flavorName: null, ports: [] }));
    expect(tree).not.toHaveProperty('public-keys');
    expect(tree).not.toHaveProperty('instance-type');
    expect(tree['local-ipv4']).toBe('');
    expect(ec2Lookup(tree, ['public-keys'])).toBeNull();
    expect(ec2Lookup(tree, ['hostname', 'more'])).toBeNull();
    expect(ec2Lookup(ec2MetaData(source()), ['public-keys', '0', '_name'])).toBeNull();
    expect(ec2Lookup(tree, ['constructor'])).toBeNull();
  });

  it('gives older versions what they had', () => {
    expect(Object.keys(ec2MetaData(source(), '1.0')).sort()).toEqual(['ami-launch-index', 'hostname', 'instance-id', 'local-ipv4', 'public-keys', 'reservation-id']);
    expect(ec2MetaData(source(), '2007-08-29')).toMatchObject({ 'instance-type': 'm1.tiny', 'local-hostname': 'web-1' });
    expect(ec2MetaData(source(), '2007-08-29')).not.toHaveProperty('placement');
  });

  it('drops the listing names for the config drive', () => {
    expect(ec2MetaDataForConfigDrive(source())['public-keys']).toEqual({ '0': { 'openssh-key': KEY } });
  });
});

describe('instance id signatures', () => {
  const secret = 'a shared secret';
  const id = source().id;

  it('signs with hex HMAC-SHA256, as Neutron does', () => {
    const expected = createHmac('sha256', secret).update(id).digest('hex');
    expect(signInstanceId(secret, id)).toBe(expected);
    expect(verifyInstanceSignature(secret, id, expected)).toBe(true);
    expect(verifyInstanceSignature(secret, id, expected.toUpperCase())).toBe(true);
    expect(() => signInstanceId('', id)).toThrow(/secret is empty/);
  });

  it('refuses other ids, other secrets and malformed input', () => {
    const good = signInstanceId(secret, id);
    expect(verifyInstanceSignature(secret, '4f1c2b9e-0a4d-4c5e-9f8a-7b6c5d4e3f21', good)).toBe(false);
    expect(verifyInstanceSignature('another secret', id, good)).toBe(false);
    for (const bad of ['', good.slice(1), good + '0', good.replace(/.$/, 'g'), ' ' + good.slice(1), undefined, null, 42, [good]]) {
      expect(verifyInstanceSignature(secret, id, bad)).toBe(false);
    }
    expect(verifyInstanceSignature('', id, signInstanceId('x', id))).toBe(false);
    expect(verifyInstanceSignature(secret, '', good)).toBe(false);
    expect(verifyInstanceSignature(undefined, id, good)).toBe(false);
  });
});
