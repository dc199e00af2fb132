export { LibvirtDriver, type LibvirtDriverOptions } from './driver.ts';
export { LibvirtError, Virsh } from './virsh.ts';
export { probeKvm } from './kvm.ts';
export { domainXml, type DomainPlan } from './domain-xml.ts';
