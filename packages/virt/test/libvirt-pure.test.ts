import { powerStates } from '@aster/compute';
import { instanceSpec } from '@aster/compute/specs';
import { describe, expect, it } from 'vitest';
import { configDriveFiles } from '../src/libvirt/config-drive.ts';
import { rescueXml, withSize } from '../src/libvirt/domain-update.ts';
import { ASTER_XMLNS, domainXml, parseDomainXml, type DomainPlan } from '../src/libvirt/domain-xml.ts';
import { inSubnet, ovsDatapathOf, parseDominfo, parseNodeinfo, parseVersion, powerStateOf } from '../src/libvirt/facts.ts';
import { parseLeases, parseNetworkXml } from '../src/libvirt/network.ts';
import { libvirtMessage } from '../src/libvirt/virsh.ts';
import { xmlElement } from '../src/libvirt/xml.ts';

const plan: DomainPlan = {
  id: '3f0c9a52-1b7e-4c2d-9e8f-0a1b2c3d4e5f',
  name: 'aster-3f0c9a52-1b7e-4c2d-9e8f-0a1b2c3d4e5f',
  title: `web <1> & "friends"`,
  domainType: 'qemu',
  vcpus: 2,
  memoryMb: 256,
  disk: { path: '/var/lib/aster/instances/x/disk', format: 'qcow2' },
  configDrive: '/var/lib/aster/instances/x/disk.config',
  nics: [
    {
      id: '99999999-8888-4777-8666-555555555555',
      networkId: '44444444-3333-4222-8111-000000000000',
      mac: 'fa:16:3e:00:00:01',
      ip: '192.168.122.10',
      external: true,
      metadata: null,
      bridge: 'br-int',
      mtu: 1500,
    },
  ],
  consoleHost: '127.0.0.1',
  serialPort: 10001,
  consoleLog: '/var/lib/aster/instances/x/console.log',
  aster: { host: 'compute-1', projectId: '11111111-2222-4333-8444-555555555555', flavorId: '66666666-7777-4888-9999-000000000000', flavorName: 'm1.tiny', imageId: 'aaaaaaaa-bbbb-4ccc-8ddd-eeeeeeeeeeee' },
};

describe('domain XML', () => {
  it('builds what it parses back: sizes, disks, NIC, consoles, Aster metadata', () => {
    const facts = parseDomainXml(domainXml(plan));
    expect(facts).toMatchObject({ id: plan.id, name: plan.name, domainType: 'qemu', vcpus: 2, memoryMb: 256 });
    expect(facts.disks).toEqual([
      { target: 'vda', source: plan.disk.path, format: 'qcow2', readonly: false },
      { target: 'vdb', source: plan.configDrive, format: 'raw', readonly: true },
    ]);
    expect(facts.nics).toEqual([{ mac: 'fa:16:3e:00:00:01', network: null, bridge: 'br-int', interfaceId: '99999999-8888-4777-8666-555555555555', mtu: 1500 }]);
    expect(facts.serial).toEqual({ type: 'tcp', host: '127.0.0.1', port: 10001, log: plan.consoleLog });
    // libvirt picks the graphics ports at start; before that there are none to report.
    expect(facts.graphics).toEqual([
      { type: 'vnc', host: '127.0.0.1', port: null },
      { type: 'spice', host: '127.0.0.1', port: null },
    ]);
    expect(facts.aster).toEqual({
      host: 'compute-1',
      projectId: plan.aster.projectId,
      flavorId: plan.aster.flavorId,
      flavorName: 'm1.tiny',
      imageId: plan.aster.imageId,
      ports: [{ id: '99999999-8888-4777-8666-555555555555', networkId: '44444444-3333-4222-8111-000000000000', mac: 'fa:16:3e:00:00:01', ip: '192.168.122.10', external: true, metadata: null }],
    });
  });

  it('plugs each port into the Open vSwitch bridge with its port id as the interface id and its network’s MTU', () => {
    const metadata = { portId: '12121212-3434-4565-8787-909090909090', mac: 'fa:16:3e:aa:bb:cc', ip: '10.0.0.2', prefixLength: 24 };
    const project = { id: '77777777-6666-4555-8444-333333333333', networkId: '22222222-1111-4000-8999-888888888888', mac: 'fa:16:3e:00:00:02', ip: '10.0.0.5', external: false, metadata, bridge: 'br-int', mtu: 1442 };
    const xml = domainXml({ ...plan, nics: [project] });
    const iface = xml.slice(xml.indexOf('<interface'), xml.indexOf('</interface>') + '</interface>'.length);
    expect(iface).toBe(`<interface type='bridge'>
      <mac address='fa:16:3e:00:00:02'/>
      <source bridge='br-int'/>
      <virtualport type='openvswitch'>
        <parameters interfaceid='77777777-6666-4555-8444-333333333333'/>
      </virtualport>
      <model type='virtio'/>
      <mtu size='1442'/>
    </interface>`);
    const facts = parseDomainXml(xml);
    expect(facts.nics).toEqual([{ mac: project.mac, network: null, bridge: 'br-int', interfaceId: project.id, mtu: 1442 }]);
    // What unplugging needs, and adopting the guest after a restart: the network, whether it is external, its metadata port.
    expect(facts.aster?.ports).toEqual([{ id: project.id, networkId: project.networkId, mac: project.mac, ip: project.ip, external: false, metadata }]);
  });

  it('reads the ports of domains defined before Open vSwitch: on the external network, ids unknown', () => {
    const old = domainXml(plan).replace(/<aster:port [^>]*\/>/, "<aster:port mac='fa:16:3e:00:00:01' ip='192.168.122.10'/>");
    expect(parseDomainXml(old).aster?.ports).toEqual([{ id: '', networkId: '', mac: 'fa:16:3e:00:00:01', ip: '192.168.122.10', external: true, metadata: null }]);
  });

  it('escapes text that is not XML', () => {
    const xml = domainXml(plan);
    expect(xml).toContain('<title>web &lt;1&gt; &amp; &quot;friends&quot;</title>');
    expect(() => parseDomainXml(xml)).not.toThrow();
  });

  it('reads what libvirt writes: ports chosen at start, memory in KiB, a domain Aster did not create', () => {
    const live = `<domain type='kvm' id='7'>
  <name>other</name><uuid>0b7c1e9a-0000-4000-8000-000000000001</uuid>
  <memory unit='KiB'>1048576</memory><vcpu placement='static'>4</vcpu>
  <devices>
    <disk type='file' device='disk'><driver name='qemu' type='raw'/><source file='/x.img'/><target dev='sda' bus='sata'/></disk>
    <serial type='pty'><source path='/dev/pts/3'/><target port='0'/></serial>
    <graphics type='vnc' port='5903' autoport='yes' listen='0.0.0.0'><listen type='address' address='0.0.0.0'/></graphics>
    <graphics type='spice' port='5904' autoport='yes' listen='127.0.0.1'><listen type='address' address='127.0.0.1'/></graphics>
  </devices>
</domain>`;
    const facts = parseDomainXml(live);
    expect(facts).toMatchObject({ name: 'other', domainType: 'kvm', vcpus: 4, memoryMb: 1024, aster: null });
    expect(facts.graphics).toEqual([
      { type: 'vnc', host: '0.0.0.0', port: 5903 },
      { type: 'spice', host: '127.0.0.1', port: 5904 },
    ]);
    expect(facts.serial).toMatchObject({ type: 'pty', port: null });
  });

  it('refuses a document that is not a domain', () => {
    expect(() => parseDomainXml('<network><name>default</name></network>')).toThrow('not a libvirt domain');
  });

  it('resizes vCPUs and memory and keeps the rest', () => {
    const xml = withSize(domainXml(plan), 4, 1024, { id: plan.aster.flavorId, name: 'm1.small' });
    const facts = parseDomainXml(xml);
    expect(facts).toMatchObject({ vcpus: 4, memoryMb: 1024 });
    expect(facts.aster?.flavorName).toBe('m1.small');
    expect(facts.disks).toHaveLength(2);
  });

  it('rescues: the rescue disk boots first as vda, the own disk is vdb, the config drive vdc; the rest stays', () => {
    const original = domainXml(plan);
    const xml = rescueXml(original, '/var/lib/aster/instances/x/disk.rescue');
    const facts = parseDomainXml(xml);
    expect(facts.disks).toEqual([
      { target: 'vda', source: '/var/lib/aster/instances/x/disk.rescue', format: 'qcow2', readonly: false },
      { target: 'vdb', source: plan.disk.path, format: 'qcow2', readonly: false },
      { target: 'vdc', source: plan.configDrive, format: 'raw', readonly: true },
    ]);
    // libvirt refuses an <os> boot entry beside per-device boot order.
    expect(xml).not.toContain('<boot dev=');
    expect(xml.match(/<boot order=(['"])1\1\/>/g)).toHaveLength(1); // in the quotes the document is written with
    const before = parseDomainXml(original);
    expect({ ...facts, disks: [] }).toEqual({ ...before, disks: [] });
  });

  it('rescues what libvirt writes (double quotes, PCI addresses) and refuses a domain without a disk', () => {
    const live = `<domain type="qemu"><name>n</name><uuid>${plan.id}</uuid><os><type>hvm</type><boot dev="hd"/></os><devices>
      <disk type="file" device="disk"><source file="/d"/><target dev="vda" bus="virtio"/><address type="pci" slot="0x04"/></disk>
    </devices></domain>`;
    const xml = rescueXml(live, '/r');
    expect(parseDomainXml(xml).disks.map((d) => [d.target, d.source])).toEqual([['vda', '/r'], ['vdb', '/d']]);
    expect(xml).not.toContain('<boot dev=');
    expect(() => rescueXml(`<domain><devices></devices></domain>`, '/r')).toThrow(/no disk/);
  });
});

describe('domain XML as a document', () => {
  // As `virsh dumpxml` writes it: double quotes, attributes in its own order, Aster's metadata under another prefix.
  const dump = (metadata: string) => `<domain type="kvm">
  <name>aster-x</name>
  <uuid>${plan.id}</uuid>
  <metadata>
    <other:instance xmlns:other="https://example.com/other"><other:flavor id="keep" name="keep"/></other:instance>${metadata}
  </metadata>
  <memory dumpCore="off" unit="KiB">262144</memory>
  <currentMemory unit="KiB">262144</currentMemory>
  <vcpu current="1" placement="static">1</vcpu>
  <devices><disk type="file" device="disk"><source file="/d"/><target bus="virtio" dev="vda"/></disk></devices>
</domain>`;
  const dumped = dump(
    `<a:instance xmlns:a="${ASTER_XMLNS}"><a:host>compute-1</a:host><a:project>${plan.aster.projectId}</a:project><a:flavor name="m1.tiny" id="${plan.aster.flavorId}"/></a:instance>`,
  );

  it('resizes what libvirt wrote, keeping the attributes it set and other applications\' metadata', () => {
    const xml = withSize(dumped, 2, 512, { id: plan.aster.flavorId, name: `o'brien & "co" <big>` });
    const facts = parseDomainXml(xml);
    expect(facts).toMatchObject({ vcpus: 2, memoryMb: 512, aster: { host: 'compute-1', flavorName: `o'brien & "co" <big>` } });
    expect(xml).toContain('dumpCore="off"');
    expect(xml).toContain('current="1"');
    expect(xml).toContain('<other:flavor id="keep" name="keep"/>');
  });

  it("reads Aster's metadata by its namespace, not by its prefix or another application's element of the same name", () => {
    const facts = parseDomainXml(dumped);
    expect(facts.aster).toMatchObject({ host: 'compute-1', flavorName: 'm1.tiny', flavorId: plan.aster.flavorId });
    expect(parseDomainXml(dump('')).aster).toBeNull();
  });

  it('refuses a document that is not XML, saying so', () => {
    expect(() => parseDomainXml('<domain><name>x</domain>')).toThrow(/not a libvirt domain XML document: /);
    expect(() => withSize('<network/>', 1, 1)).toThrow('not a libvirt domain XML document');
  });

  it('writes one element with its attributes escaped', () => {
    expect(xmlElement('host', { mac: 'fa:16:3e:00:00:01', ip: '192.168.122.10' })).toBe('<host mac="fa:16:3e:00:00:01" ip="192.168.122.10"/>');
    expect(xmlElement('host', { name: `a"b<c&d` })).toBe('<host name="a&quot;b&lt;c&amp;d"/>');
  });
});

describe('libvirt answers', () => {
  it('reads dominfo and maps states as Nova does', () => {
    const info = parseDominfo(`Id:             3
Name:           aster-x
UUID:           3f0c9a52-1b7e-4c2d-9e8f-0a1b2c3d4e5f
State:          shut off
CPU(s):         2
Max memory:     262144 KiB
Used memory:    262144 KiB
Managed save:   yes
`);
    expect(info).toEqual({ state: 'shut off', vcpus: 2, ramMb: 256, managedSave: true });
    expect(powerStateOf(info)).toBe(powerStates.SUSPENDED);
    expect(powerStateOf({ state: 'shut off', managedSave: false })).toBe(powerStates.SHUTDOWN);
    expect(powerStateOf({ state: 'running', managedSave: false })).toBe(powerStates.RUNNING);
    expect(powerStateOf({ state: 'in shutdown', managedSave: false })).toBe(powerStates.RUNNING);
    expect(powerStateOf({ state: 'paused', managedSave: false })).toBe(powerStates.PAUSED);
    expect(powerStateOf({ state: 'crashed', managedSave: false })).toBe(powerStates.CRASHED);
    expect(powerStateOf({ state: 'pmsuspended', managedSave: false })).toBe(powerStates.SUSPENDED);
    expect(powerStateOf({ state: 'something new', managedSave: false })).toBe(powerStates.NOSTATE);
  });

  it("keeps libvirt's own words from virsh's stderr", () => {
    expect(libvirtMessage("error: failed to get domain 'x'\n")).toBe("failed to get domain 'x'");
    expect(libvirtMessage("error: Failed to start domain 'a'\nerror: internal error: process exited while connecting to monitor: qemu: could not open disk\n")).toBe(
      "Failed to start domain 'a': internal error: process exited while connecting to monitor: qemu: could not open disk",
    );
    expect(libvirtMessage('')).toBe('virsh failed without a message');
  });

  it('reads the Open vSwitch datapath: the default and system are the kernel’s, netdev the userspace one', () => {
    expect(ovsDatapathOf('""\n')).toBe('system');
    expect(ovsDatapathOf('system\n')).toBe('system');
    expect(ovsDatapathOf('netdev\n')).toBe('netdev');
    expect(() => ovsDatapathOf('dpdk')).toThrow(/unknown Open vSwitch datapath type dpdk/);
  });

  it('reads the versions and the host size virsh reports', () => {
    expect(parseVersion('Compiled against library: libvirt 9.0.0\nUsing library: libvirt 9.0.0\nUsing API: QEMU 9.0.0\nRunning hypervisor: QEMU 7.2.0\n')).toEqual({
      libvirtVersion: '9.0.0',
      qemuVersion: '7.2.0',
    });
    expect(parseVersion('')).toEqual({ libvirtVersion: null, qemuVersion: null });
    expect(parseNodeinfo('CPU model:           x86_64\nCPU(s):              2\nMemory size:         8141512 KiB\n')).toEqual({ cpus: 2, ramMb: 7950 });
  });

  it('reads a network with its DHCP host entries', () => {
    const net = parseNetworkXml(`<network><name>default</name><bridge name='virbr0'/><ip address='192.168.122.1' netmask='255.255.255.0'>
      <dhcp><range start='192.168.122.2' end='192.168.122.254'/><host mac='FA:16:3E:00:00:01' ip='192.168.122.10'/></dhcp></ip></network>`);
    expect(net).toEqual({ name: 'default', bridge: 'virbr0', address: '192.168.122.1', netmask: '255.255.255.0', hosts: [{ mac: 'fa:16:3e:00:00:01', ip: '192.168.122.10' }] });
  });

  it('reads dnsmasq leases', () => {
    const out = ` Expiry Time           MAC address         Protocol   IP address           Hostname   Client ID or DUID
------------------------------------------------------------------------------------------------------------
 2026-11-29 19:13:37   52:54:00:12:88:23   ipv4       192.168.122.252/24   -          01:52:54:00:12:88:23
 2026-11-29 18:53:15   FA:16:3E:0D:0F:1F   ipv4       192.168.122.10/24    web-1      01:fa:16:3e:0d:0f:1f
`;
    expect(parseLeases(out)).toEqual([
      { mac: '52:54:00:12:88:23', ip: '192.168.122.252' },
      { mac: 'fa:16:3e:0d:0f:1f', ip: '192.168.122.10' },
    ]);
  });

  it('knows which addresses a network can plug', () => {
    expect(inSubnet('192.168.122.10', '192.168.122.1', '255.255.255.0')).toBe(true);
    expect(inSubnet('10.0.0.5', '192.168.122.1', '255.255.255.0')).toBe(false);
    expect(inSubnet('not-an-ip', '192.168.122.1', '255.255.255.0')).toBe(false);
  });
});

describe('config drive', () => {
  it('holds the OpenStack and EC2 documents, with the user data as given', () => {
    const spec = instanceSpec.parse({
      id: plan.id,
      name: 'web-1',
      hostname: 'web-1',
      projectId: plan.aster.projectId,
      flavor: { id: plan.aster.flavorId, name: 'm1.tiny', vcpus: 1, ramMb: 128, diskGb: 1 },
      image: { id: plan.aster.imageId, name: 'aster-tiny', diskFormat: 'qcow2', checksumSha256: 'ab', sizeBytes: 1, downloadPath: '/v1/images/x/file' },
      ports: [{ id: '99999999-8888-4777-8666-555555555555', networkId: '44444444-3333-4222-8111-000000000000', networkName: 'public', bridge: null, mac: 'fa:16:3e:00:00:01', ip: '192.168.122.10', cidr: '192.168.122.0/24', gateway: '192.168.122.1', dnsServers: ['192.168.122.1'] }],
      keyName: 'mykey',
      keyData: 'ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIGk me@host',
      userData: '#!/bin/sh\necho hello',
      metadata: { role: 'web' },
      createdAt: new Date(0).toISOString(),
    });
    const files = configDriveFiles(spec);
    const meta = JSON.parse(String(files['openstack/latest/meta_data.json']));
    expect(meta).toMatchObject({ uuid: plan.id, hostname: 'web-1', public_keys: { mykey: spec.keyData }, meta: { role: 'web' } });
    expect(String(files['openstack/latest/user_data'])).toBe('#!/bin/sh\necho hello');
    expect(JSON.parse(String(files['openstack/latest/network_data.json'])).networks[0]).toMatchObject({ ip_address: '192.168.122.10', netmask: '255.255.255.0' });
    expect(files['openstack/2012-08-10/meta_data.json']).toBeDefined();
    expect(JSON.parse(String(files['ec2/latest/meta-data.json']))).toMatchObject({ 'instance-id': plan.id, 'local-ipv4': '192.168.122.10' });
    expect(files['ec2/latest/user-data']).toBe('#!/bin/sh\necho hello');
  });
});
