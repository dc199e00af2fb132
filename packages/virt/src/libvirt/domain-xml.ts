import type { Element } from '@xmldom/xmldom';
import { attribute, childElement, childElements, parseXml, textOf } from './xml.ts';

/** Aster's own data kept in a domain's `<metadata>`, so a restarted agent knows its guests without asking anyone. */
export const ASTER_XMLNS = 'https://aster.dev/xmlns/libvirt/instance/1';

/** A guest port as the domain's metadata keeps it: what unplugging it, and adopting it after a restart, needs. */
export interface PortRecord {
  /** The Aster port id ('' in domains defined before ports were plugged into Open vSwitch). */
  id: string;
  networkId: string;
  mac: string;
  ip: string;
  /** On an external network: libvirt's dnsmasq has its DHCP entry. Domains defined before say nothing: they were. */
  external: boolean;
  /** The network's metadata port, for the metadata namespace of a network that is not external. */
  metadata: { portId: string; mac: string; ip: string; prefixLength: number } | null;
}

export interface DomainNic extends PortRecord {
  bridge: string;
  mtu: number;
}

export interface DomainPlan {
  id: string;
  name: string;
  title: string;
  domainType: 'kvm' | 'qemu';
  vcpus: number;
  memoryMb: number;
  disk: { path: string; format: 'qcow2' | 'raw' };
  configDrive: string | null;
  /**
   * Each port on the Open vSwitch integration bridge (`br-int`) with the port id as `iface-id`, which OVN binds;
   * plugged by libvirt, so starting the domain does not wait on libvirt's network driver.
   */
  nics: DomainNic[];
  /** Address the VNC and SPICE servers and the serial TCP endpoint listen on. */
  consoleHost: string;
  serialPort: number;
  consoleLog: string;
  /** `host`: the compute host (agent) that owns the domain; agents sharing one libvirt leave each other's alone. */
  aster: { host: string; projectId: string; flavorId: string; flavorName: string; imageId: string };
}

/** A value as XML text or attribute: `&` first, so that no entity is escaped twice. */
const esc = (s: string | number) =>
  String(s).replaceAll('&', '&amp;').replaceAll('<', '&lt;').replaceAll('>', '&gt;').replaceAll('"', '&quot;').replaceAll("'", '&apos;');

function portRecordXml(n: PortRecord): string {
  const attrs = `id='${esc(n.id)}' network='${esc(n.networkId)}' mac='${esc(n.mac)}' ip='${esc(n.ip)}' external='${n.external}'`;
  if (!n.metadata) return `      <aster:port ${attrs}/>`;
  const m = n.metadata;
  return `      <aster:port ${attrs}>
        <aster:metadata port='${esc(m.portId)}' mac='${esc(m.mac)}' ip='${esc(m.ip)}' prefix='${m.prefixLength}'/>
      </aster:port>`;
}

/**
 * The domain XML for an instance: virtio disk and NIC, a config drive as a second read-only virtio disk, a
 * VGA-compatible qxl display with VNC and SPICE on the console address (ports chosen by libvirt), and the
 * serial port both as a raw TCP endpoint for live sessions and as a log file for `consoleLog`.
 */
export function domainXml(p: DomainPlan): string {
  const nics = p.nics
    .map(
      (n) => `    <interface type='bridge'>
      <mac address='${esc(n.mac)}'/>
      <source bridge='${esc(n.bridge)}'/>${
        // Without a port id (a plain Linux bridge, as the boot benchmark's baseline uses) there is no Open vSwitch port.
        n.id ? `\n      <virtualport type='openvswitch'>\n        <parameters interfaceid='${esc(n.id)}'/>\n      </virtualport>` : ''
      }
      <model type='virtio'/>
      <mtu size='${n.mtu}'/>
    </interface>`,
    )
    .join('\n');
  const configDrive = p.configDrive
    ? `    <disk type='file' device='disk'>
      <driver name='qemu' type='raw'/>
      <source file='${esc(p.configDrive)}'/>
      <target dev='vdb' bus='virtio'/>
      <readonly/>
    </disk>\n`
    : '';
  const ips = p.nics.map(portRecordXml).join('\n');
  return `<domain type='${p.domainType}'>
  <name>${esc(p.name)}</name>
  <uuid>${esc(p.id)}</uuid>
  <title>${esc(p.title)}</title>
  <metadata>
    <aster:instance xmlns:aster='${ASTER_XMLNS}'>
      <aster:host>${esc(p.aster.host)}</aster:host>
      <aster:project>${esc(p.aster.projectId)}</aster:project>
      <aster:flavor id='${esc(p.aster.flavorId)}' name='${esc(p.aster.flavorName)}'/>
      <aster:image id='${esc(p.aster.imageId)}'/>
${ips}
    </aster:instance>
  </metadata>
  <memory unit='MiB'>${p.memoryMb}</memory>
  <currentMemory unit='MiB'>${p.memoryMb}</currentMemory>
  <vcpu placement='static'>${p.vcpus}</vcpu>
  <os>
    <type arch='x86_64' machine='pc'>hvm</type>
    <boot dev='hd'/>
  </os>
  <features>
    <acpi/>
    <apic/>
  </features>
  <clock offset='utc'/>
  <on_poweroff>destroy</on_poweroff>
  <on_reboot>restart</on_reboot>
  <on_crash>destroy</on_crash>
  <devices>
    <disk type='file' device='disk'>
      <driver name='qemu' type='${p.disk.format}'/>
      <source file='${esc(p.disk.path)}'/>
      <target dev='vda' bus='virtio'/>
    </disk>
${configDrive}${nics}
    <serial type='tcp'>
      <source mode='bind' host='${esc(p.consoleHost)}' service='${p.serialPort}'/>
      <protocol type='raw'/>
      <log file='${esc(p.consoleLog)}' append='on'/>
      <target port='0'/>
    </serial>
    <console type='tcp'>
      <source mode='bind' host='${esc(p.consoleHost)}' service='${p.serialPort}'/>
      <protocol type='raw'/>
      <target type='serial' port='0'/>
    </console>
    <input type='tablet' bus='usb'/>
    <graphics type='vnc' autoport='yes' listen='${esc(p.consoleHost)}'>
      <listen type='address' address='${esc(p.consoleHost)}'/>
    </graphics>
    <graphics type='spice' autoport='yes' listen='${esc(p.consoleHost)}'>
      <listen type='address' address='${esc(p.consoleHost)}'/>
    </graphics>
    <video>
      <model type='qxl' primary='yes'/>
    </video>
    <memballoon model='none'/>
  </devices>
</domain>
`;
}

export interface DomainFacts {
  id: string;
  name: string;
  domainType: string;
  vcpus: number;
  memoryMb: number;
  disks: { target: string; source: string | null; format: string | null; readonly: boolean }[];
  nics: { mac: string; network: string | null; bridge: string | null; interfaceId: string | null; mtu: number | null }[];
  graphics: { type: 'vnc' | 'spice'; host: string; port: number | null }[];
  serial: { type: string; host: string | null; port: number | null; log: string | null } | null;
  /** Aster's metadata, or null for a domain Aster did not create. */
  aster: { host: string | null; projectId: string; flavorId: string | null; flavorName: string | null; imageId: string | null; ports: PortRecord[] } | null;
}

function toMb(el: Element | null): number {
  const value = Number(textOf(el) ?? 0);
  const unit = (attribute(el, 'unit') ?? 'KiB').toLowerCase();
  const factor: Record<string, number> = { b: 1 / 1048576, bytes: 1 / 1048576, k: 1 / 1024, kib: 1 / 1024, kb: 1000 / 1048576, m: 1, mib: 1, mb: 1e6 / 1048576, g: 1024, gib: 1024, gb: 1e9 / 1048576 };
  return Math.round(value * (factor[unit] ?? 1 / 1024));
}

/** A whole number written in an attribute (a port), or null. */
function integer(s: string | null): number | null {
  const n = Number(s);
  return s !== null && s.trim() !== '' && Number.isInteger(n) ? n : null;
}

/** What a domain's XML (`virsh dumpxml`) says about it: sizes, disks, NICs, console endpoints, Aster's metadata. */
export function parseDomainXml(xml: string): DomainFacts {
  const domain = parseXml(xml, 'domain', 'not a libvirt domain XML document').documentElement!;
  const one = (name: string) => childElement(domain, name);
  const devices = one('devices');
  const graphics = childElements(devices, 'graphics').flatMap((g) => {
    const type = attribute(g, 'type');
    if (type !== 'vnc' && type !== 'spice') return [];
    const listen = childElements(g, 'listen').map((l) => attribute(l, 'address')).find(Boolean) ?? attribute(g, 'listen') ?? '127.0.0.1';
    const port = integer(attribute(g, 'port'));
    return [{ type, host: listen, port: port !== null && port > 0 ? port : null } as const];
  });
  const serial = childElement(devices, 'serial');
  const serialSource = childElement(serial, 'source');
  // Aster's metadata is known by its namespace, whatever prefix the document gives it.
  const meta = childElements(one('metadata'), 'instance').find((e) => e.namespaceURI === ASTER_XMLNS) ?? null;
  const inMeta = (name: string) => childElement(meta, name);
  return {
    id: textOf(one('uuid')) ?? '',
    name: textOf(one('name')) ?? '',
    domainType: attribute(domain, 'type') ?? 'qemu',
    vcpus: Number(textOf(one('vcpu')) ?? 1),
    memoryMb: toMb(one('memory')),
    disks: childElements(devices, 'disk').map((d) => ({
      target: attribute(childElement(d, 'target'), 'dev') ?? '',
      source: attribute(childElement(d, 'source'), 'file'),
      format: attribute(childElement(d, 'driver'), 'type'),
      readonly: childElement(d, 'readonly') !== null,
    })),
    nics: childElements(devices, 'interface').map((i) => ({
      mac: attribute(childElement(i, 'mac'), 'address') ?? '',
      network: attribute(childElement(i, 'source'), 'network'),
      bridge: attribute(childElement(i, 'source'), 'bridge'),
      interfaceId: attribute(childElement(childElement(i, 'virtualport'), 'parameters'), 'interfaceid'),
      mtu: integer(attribute(childElement(i, 'mtu'), 'size')),
    })),
    graphics,
    serial: serial
      ? {
          type: attribute(serial, 'type') ?? 'pty',
          host: attribute(serialSource, 'host'),
          port: integer(attribute(serialSource, 'service')),
          log: attribute(childElement(serial, 'log'), 'file'),
        }
      : null,
    aster: meta
      ? {
          host: textOf(inMeta('host')),
          projectId: textOf(inMeta('project')) ?? '',
          flavorId: attribute(inMeta('flavor'), 'id'),
          flavorName: attribute(inMeta('flavor'), 'name'),
          imageId: attribute(inMeta('image'), 'id'),
          ports: childElements(meta, 'port').map(parsePortRecord),
        }
      : null,
  };
}

function parsePortRecord(p: Element): PortRecord {
  const m = childElement(p, 'metadata');
  const prefix = integer(attribute(m, 'prefix'));
  return {
    id: attribute(p, 'id') ?? '',
    networkId: attribute(p, 'network') ?? '',
    mac: attribute(p, 'mac') ?? '',
    ip: attribute(p, 'ip') ?? '',
    external: attribute(p, 'external') !== 'false',
    metadata: m && prefix !== null ? { portId: attribute(m, 'port') ?? '', mac: attribute(m, 'mac') ?? '', ip: attribute(m, 'ip') ?? '', prefixLength: prefix } : null,
  };
}
