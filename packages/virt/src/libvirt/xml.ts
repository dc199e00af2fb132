import { DOMImplementation, DOMParser, XMLSerializer, type Document, type Element } from '@xmldom/xmldom';

// libvirt's XML as a document (cockpit-machines' way): read and edited through a DOM, never with regular
// expressions, so an attribute in another order, other quotes or a value that needs escaping change nothing.

const ELEMENT_NODE = 1;
const TEXT_NODE = 3;

const parser = new DOMParser({
  onError: (level, message) => {
    if (level !== 'warning') throw new Error(message.trim());
  },
});

/** The document in `xml`, whose root must be `<root>`; throws `what` (and why) otherwise. */
export function parseXml(xml: string, root: string, what: string): Document {
  let doc: Document;
  try {
    doc = parser.parseFromString(xml, 'text/xml');
  } catch (error) {
    throw new Error(`${what}: ${(error as Error).message}`);
  }
  if (doc.documentElement?.localName !== root) throw new Error(what);
  return doc;
}

export function serializeXml(doc: Document): string {
  return new XMLSerializer().serializeToString(doc);
}

/** One element on its own, as text: `<name a='…'/>`, with its attributes escaped as XML needs. */
export function xmlElement(name: string, attributes: Record<string, string>): string {
  const doc = new DOMImplementation().createDocument(null, name, null);
  for (const [key, value] of Object.entries(attributes)) doc.documentElement!.setAttribute(key, value);
  return serializeXml(doc);
}

/** The element children of `parent` named `name` (local name, any namespace prefix), in document order. */
export function childElements(parent: Element | null | undefined, name: string): Element[] {
  if (!parent) return [];
  const out: Element[] = [];
  for (let n = parent.firstChild; n; n = n.nextSibling) {
    if (n.nodeType === ELEMENT_NODE && (n as Element).localName === name) out.push(n as Element);
  }
  return out;
}

/** The first element child of `parent` named `name`, or null. */
export function childElement(parent: Element | null | undefined, name: string): Element | null {
  return childElements(parent, name)[0] ?? null;
}

/** An attribute's value, or null when the element or the attribute is missing. */
export function attribute(el: Element | null | undefined, name: string): string | null {
  return el?.hasAttribute(name) ? el.getAttribute(name) : null;
}

/** An element's text, or null when it is missing. */
export function textOf(el: Element | null | undefined): string | null {
  return el ? (el.textContent ?? '') : null;
}

/** Removes `el` and the indentation before it, so the document keeps its layout. */
export function removeElement(el: Element): void {
  const before = el.previousSibling;
  if (before && before.nodeType === TEXT_NODE && !before.nodeValue?.trim()) before.parentNode?.removeChild(before);
  el.parentNode?.removeChild(el);
}
