import { XMLParser } from 'fast-xml-parser';

/** Aster's own data kept in a domain's `<metadata>`, so a restarted agent knows its guests without asking anyone. */
export const ASTER_XMLNS = 'https://aster.dev/xmlns/libvirt/instance/1';

export interface DomainPlan {
  id: string;
  name: string;
  title: string;
  domainType: 'kvm' | 'qemu';
  vcpus: number;
  memoryMb: number;
  disk: { path: string; format: 'qcow2' | 'raw' };
  configDrive: string | null;
  /** On the libvirt network's bridge directly: starting the domain then does not wait on the network driver. */
  nics: { mac: string; bridge: string; ip: string }[];
  /** Address the VNC and SPICE servers and the serial TCP endpoint listen on. */
  consoleHost: string;
  serialPort: number;
  consoleLog: string;
  /** `host`: the compute host (agent) that owns the domain; agents sharing one libvirt leave each other's alone. */
  aster: { host: string; projectId: string; flavorId: string; flavorName: string; imageId: string };
}

const esc = (s: string | number) =>
  String(s).replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;').replace(/'/g, '&apos;');

/**
 * The domain XML for an instance: virtio disk and NIC, a config drive as a second read-only virtio disk, a
 * VGA-compatible qxl display with VNC and SPICE on the console address (ports chosen by libvirt), and the
 * serial port both as a raw TCP endpoint for live sessions and as a log file for `consoleLog`.
 */
export function domainXml(p: DomainPlan): string {
  const nics = p.nics
    .map(
      (n) => `    <interface type='bridge'>
      <source bridge='${esc(n.bridge)}'/>
      <mac address='${esc(n.mac)}'/>
      <model type='virtio'/>
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
  const ips = p.nics.map((n) => `      <aster:port mac='${esc(n.mac)}' ip='${esc(n.ip)}'/>`).join('\n');
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
  nics: { mac: string; network: string | null; bridge: string | null }[];
  graphics: { type: 'vnc' | 'spice'; host: string; port: number | null }[];
  serial: { type: string; host: string | null; port: number | null; log: string | null } | null;
  /** Aster's metadata, or null for a domain Aster did not create. */
  aster: { host: string | null; projectId: string; flavorId: string | null; flavorName: string | null; imageId: string | null; ports: { mac: string; ip: string }[] } | null;
}

const parser = new XMLParser({
  ignoreAttributes: false,
  attributeNamePrefix: '@',
  removeNSPrefix: true,
  parseTagValue: false,
  parseAttributeValue: false,
  isArray: (name) => ['disk', 'interface', 'graphics', 'serial', 'console', 'port', 'listen'].includes(name),
});

type Node = Record<string, unknown>;
const obj = (v: unknown): Node => (v && typeof v === 'object' ? (v as Node) : {});
const arr = (v: unknown): Node[] => (Array.isArray(v) ? v.map(obj) : v === undefined ? [] : [obj(v)]);
const text = (v: unknown): string | null => (typeof v === 'string' ? v : typeof v === 'object' && v && typeof (v as Node)['#text'] === 'string' ? ((v as Node)['#text'] as string) : null);
const attr = (n: Node, name: string): string | null => (typeof n[`@${name}`] === 'string' ? (n[`@${name}`] as string) : null);
const num = (s: string | null): number | null => (s !== null && /^-?\d+$/.test(s) ? Number(s) : null);

function toMb(n: Node): number {
  const value = Number(text(n) ?? 0);
  const unit = (attr(n, 'unit') ?? 'KiB').toLowerCase();
  const factor: Record<string, number> = { b: 1 / 1048576, bytes: 1 / 1048576, k: 1 / 1024, kib: 1 / 1024, kb: 1000 / 1048576, m: 1, mib: 1, mb: 1e6 / 1048576, g: 1024, gib: 1024, gb: 1e9 / 1048576 };
  return Math.round(value * (factor[unit] ?? 1 / 1024));
}

/** What a domain's XML (`virsh dumpxml`) says about it: sizes, disks, NICs, console endpoints, Aster's metadata. */
export function parseDomainXml(xml: string): DomainFacts {
  const domain = obj(parser.parse(xml).domain);
  if (!Object.keys(domain).length) throw new Error('not a libvirt domain XML document');
  const devices = obj(domain.devices);
  const graphics = arr(devices.graphics).flatMap((g) => {
    const type = attr(g, 'type');
    if (type !== 'vnc' && type !== 'spice') return [];
    const listen = arr(g.listen).map((l) => attr(l, 'address')).find(Boolean) ?? attr(g, 'listen') ?? '127.0.0.1';
    const port = num(attr(g, 'port'));
    return [{ type, host: listen, port: port !== null && port > 0 ? port : null } as const];
  });
  const serialNode = arr(devices.serial)[0];
  const serialSource = serialNode ? obj(serialNode.source) : {};
  const meta = obj(obj(domain.metadata).instance);
  const flavor = obj(meta.flavor);
  return {
    id: text(domain.uuid) ?? '',
    name: text(domain.name) ?? '',
    domainType: attr(domain, 'type') ?? 'qemu',
    vcpus: Number(text(domain.vcpu) ?? 1),
    memoryMb: toMb(obj(domain.memory)),
    disks: arr(devices.disk).map((d) => ({
      target: attr(obj(d.target), 'dev') ?? '',
      source: attr(obj(d.source), 'file'),
      format: attr(obj(d.driver), 'type'),
      readonly: 'readonly' in d,
    })),
    nics: arr(devices.interface).map((i) => ({ mac: attr(obj(i.mac), 'address') ?? '', network: attr(obj(i.source), 'network'), bridge: attr(obj(i.source), 'bridge') })),
    graphics,
    serial: serialNode
      ? { type: attr(serialNode, 'type') ?? 'pty', host: attr(serialSource, 'host'), port: num(attr(serialSource, 'service')), log: attr(obj(serialNode.log), 'file') }
      : null,
    aster: Object.keys(meta).length
      ? {
          host: text(meta.host),
          projectId: text(meta.project) ?? '',
          flavorId: attr(flavor, 'id'),
          flavorName: attr(flavor, 'name'),
          imageId: attr(obj(meta.image), 'id'),
          ports: arr(meta.port).map((p) => ({ mac: attr(p, 'mac') ?? '', ip: attr(p, 'ip') ?? '' })),
        }
      : null,
  };
}

/** The same domain XML with other vCPU and memory figures (a resize); everything else kept as libvirt wrote it. */
export function withSize(xml: string, vcpus: number, memoryMb: number, flavor?: { id: string; name: string }): string {
  let out = xml
    .replace(/<memory[^>]*>[^<]*<\/memory>/, `<memory unit='KiB'>${memoryMb * 1024}</memory>`)
    .replace(/<currentMemory[^>]*>[^<]*<\/currentMemory>/, `<currentMemory unit='KiB'>${memoryMb * 1024}</currentMemory>`)
    .replace(/<vcpu([^>]*)>[^<]*<\/vcpu>/, `<vcpu$1>${vcpus}</vcpu>`);
  if (flavor) out = out.replace(/<aster:flavor [^>]*\/>/, `<aster:flavor id='${esc(flavor.id)}' name='${esc(flavor.name)}'/>`);
  return out;
}

/**
 * The rescue form of a domain's XML (Nova's rescue): `rescueDisk` (qcow2) becomes vda and boots first, the
 * instance's own disk moves to vdb and the config drive to vdc; NICs, consoles and Aster's metadata stay.
 * Per-device boot order replaces the `<os>` boot entry, since libvirt refuses both at once.
 */
export function rescueXml(xml: string, rescueDisk: string): string {
  const next: Record<string, string> = { vda: 'vdb', vdb: 'vdc' };
  const disk = `<disk type='file' device='disk'>
      <driver name='qemu' type='qcow2'/>
      <source file='${esc(rescueDisk)}'/>
      <target dev='vda' bus='virtio'/>
      <boot order='1'/>
    </disk>
    `;
  const devices = xml.indexOf('<devices>');
  const firstDisk = xml.indexOf('<disk ', devices);
  if (devices < 0 || firstDisk < 0) throw new Error('the domain XML has no disk to rescue');
  const renamed = xml.slice(firstDisk).replace(/<target dev=(['"])(vd[ab])\1/g, (_m, q: string, dev: string) => `<target dev=${q}${next[dev]}${q}`);
  return (xml.slice(0, firstDisk) + disk + renamed).replace(/\s*<boot dev=['"][^'"]*['"]\s*\/>/g, '');
}
