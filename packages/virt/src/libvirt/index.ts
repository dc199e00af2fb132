export { LibvirtDriver, type LibvirtDriverOptions } from './driver.ts';
export { DEFAULT_NETWORK_XML, parseLeases } from './network.ts';
export { LibvirtError, Virsh } from './virsh.ts';
export { probeKvm } from './kvm.ts';
export { domainXml, type DomainPlan } from './domain-xml.ts';
