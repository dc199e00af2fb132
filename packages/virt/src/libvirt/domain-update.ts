import type { Document, Element } from '@xmldom/xmldom';
import { ASTER_XMLNS } from './domain-xml.ts';
import { childElement, childElements, parseXml, removeElement, serializeXml } from './xml.ts';

// Changes to a domain's definition as libvirt wrote it (`virsh dumpxml --inactive`), made on the document
// (cockpit-machines' libvirt-xml-update.ts): what is not changed stays as libvirt wrote it.

function domainOf(xml: string): { doc: Document; domain: Element } {
  const doc = parseXml(xml, 'domain', 'not a libvirt domain XML document');
  return { doc, domain: doc.documentElement! };
}

function setText(el: Element, text: string): void {
  while (el.firstChild) el.removeChild(el.firstChild);
  el.appendChild(el.ownerDocument!.createTextNode(text));
}

/** The same domain XML with other vCPU and memory figures (a resize); everything else kept as libvirt wrote it. */
export function withSize(xml: string, vcpus: number, memoryMb: number, flavor?: { id: string; name: string }): string {
  const { doc, domain } = domainOf(xml);
  for (const name of ['memory', 'currentMemory']) {
    const el = childElement(domain, name);
    if (!el) continue;
    el.setAttribute('unit', 'KiB');
    setText(el, String(memoryMb * 1024));
  }
  const vcpu = childElement(domain, 'vcpu');
  if (vcpu) setText(vcpu, String(vcpus));
  if (flavor) {
    const meta = childElements(childElement(domain, 'metadata'), 'instance').find((e) => e.namespaceURI === ASTER_XMLNS);
    const el = childElement(meta, 'flavor');
    el?.setAttribute('id', flavor.id);
    el?.setAttribute('name', flavor.name);
  }
  return serializeXml(doc);
}

/**
 * The rescue form of a domain's XML (Nova's rescue): `rescueDisk` (qcow2) becomes vda and boots first, the
 * instance's own disk moves to vdb and the config drive to vdc; NICs, consoles and Aster's metadata stay.
 * Per-device boot order replaces the `<os>` boot entry, since libvirt refuses both at once.
 */
export function rescueXml(xml: string, rescueDisk: string): string {
  const next: Record<string, string> = { vda: 'vdb', vdb: 'vdc' };
  const { doc, domain } = domainOf(xml);
  const devices = childElement(domain, 'devices');
  const disks = childElements(devices, 'disk');
  const first = disks[0];
  if (!devices || !first) throw new Error('the domain XML has no disk to rescue');
  for (const disk of disks) {
    const target = childElement(disk, 'target');
    const dev = target?.getAttribute('dev') ?? '';
    if (next[dev]) target!.setAttribute('dev', next[dev]);
  }
  for (const boot of childElements(childElement(domain, 'os'), 'boot')) if (boot.hasAttribute('dev')) removeElement(boot);

  const el = (name: string, attributes: Record<string, string>, children: Element[] = []) => {
    const e = doc.createElement(name);
    for (const [key, value] of Object.entries(attributes)) e.setAttribute(key, value);
    for (const c of children) e.appendChild(c);
    return e;
  };
  const rescue = el('disk', { type: 'file', device: 'disk' }, [
    el('driver', { name: 'qemu', type: 'qcow2' }),
    el('source', { file: rescueDisk }),
    el('target', { dev: 'vda', bus: 'virtio' }),
    el('boot', { order: '1' }),
  ]);
  devices.insertBefore(rescue, first);
  // The same indentation before the disk that was first, so the document keeps its layout.
  const indent = rescue.previousSibling;
  if (indent && indent.nodeType === 3) devices.insertBefore(doc.createTextNode(indent.nodeValue ?? ''), first);
  return serializeXml(doc);
}
