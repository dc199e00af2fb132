import { describe, expect, it } from 'vitest';
import { imagePropertiesFilter } from '../src/index.ts';
import { host, res, spec } from './scheduler-fixtures.ts';

const check = (h = host('a'), properties: Record<string, string> = {}, mins: { minRamMb?: number; minDiskGb?: number } = {}) =>
  imagePropertiesFilter.check(h, spec({ image: { properties, ...mins } }));

describe('ImageProperties filter: minimums', () => {
  it('compares the image minimums with what the host has in total, not what is free', () => {
    const h = host('a', { memoryMb: res(4096, { used: 4000 }), diskGb: res(100, { used: 99 }) });
    expect(check(h, {}, { minRamMb: 4096, minDiskGb: 100 })).toEqual({ pass: true });
    expect(check(h, {}, { minRamMb: 8192 })).toEqual({ pass: false, reason: "has less than the image's minimum of 8192 MB RAM in total" });
    expect(check(h, {}, { minDiskGb: 200 })).toEqual({ pass: false, reason: "has less than the image's minimum of 200 GB disk in total" });
  });
});

describe('ImageProperties filter: hypervisor type', () => {
  it('matches under either property name, in any case', () => {
    expect(check(host('a', { hypervisorType: 'kvm' }), { hypervisor_type: 'KVM' })).toEqual({ pass: true });
    expect(check(host('a', { hypervisorType: 'qemu' }), { img_hv_type: 'qemu' })).toEqual({ pass: true });
  });

  it('runs a qemu image on a KVM host, but a kvm image not on a software-only host', () => {
    expect(check(host('a', { hypervisorType: 'kvm' }), { img_hv_type: 'qemu' })).toEqual({ pass: true });
    expect(check(host('a', { hypervisorType: 'qemu' }), { img_hv_type: 'kvm' })).toEqual({ pass: false, reason: 'runs qemu, the image asks for kvm' });
    expect(check(host('a', { hypervisorType: 'kvm' }), { hypervisor_type: 'xen' })).toEqual({ pass: false, reason: 'runs kvm, the image asks for xen' });
  });
});

describe('ImageProperties filter: architecture', () => {
  it('matches under either property name, with Nova’s canonical names', () => {
    expect(check(host('a'), { hw_architecture: 'x86_64' })).toEqual({ pass: true });
    expect(check(host('a'), { architecture: 'AMD64' })).toEqual({ pass: true });
    expect(check(host('a', { arch: 'aarch64' }), { architecture: 'arm64' })).toEqual({ pass: true });
    expect(check(host('a'), { architecture: 'aarch64' })).toEqual({ pass: false, reason: 'is x86_64, the image asks for aarch64' });
  });

  it('runs 32-bit x86 images on 64-bit x86 hosts, not the other way round', () => {
    expect(check(host('a'), { hw_architecture: 'i386' })).toEqual({ pass: true });
    expect(check(host('a', { arch: 'i686' }), { hw_architecture: 'x86_64' })).toEqual({ pass: false, reason: 'is i686, the image asks for x86_64' });
  });
});

describe('ImageProperties filter: what else a host’s state settles', () => {
  it('accepts only the hvm vm mode on KVM and QEMU hosts', () => {
    expect(check(host('a'), { hw_vm_mode: 'hvm' })).toEqual({ pass: true });
    expect(check(host('a'), { vm_mode: 'hv' })).toEqual({ pass: true });
    expect(check(host('a'), { hw_vm_mode: 'xen' })).toEqual({ pass: false, reason: 'runs kvm, which has no vm mode xen' });
    expect(check(host('a', { hypervisorType: 'qemu' }), { hw_vm_mode: 'pv' })).toEqual({ pass: false, reason: 'runs qemu, which has no vm mode xen' });
  });

  it('refuses a machine type of another architecture', () => {
    expect(check(host('a'), { hw_machine_type: 'q35' })).toEqual({ pass: true });
    expect(check(host('a'), { hw_machine_type: 'pc-i440fx-8.2' })).toEqual({ pass: true });
    expect(check(host('a', { arch: 'aarch64' }), { hw_machine_type: 'q35' })).toEqual({ pass: false, reason: 'is aarch64, which has no machine type q35' });
    expect(check(host('a'), { hw_machine_type: 'virt' })).toEqual({ pass: false, reason: 'is x86_64, which has no machine type virt' });
  });

  it('does not guess: unknown machine types, other hypervisors and undecidable properties pass', () => {
    expect(check(host('a'), { hw_machine_type: 'something-new' })).toEqual({ pass: true });
    expect(check(host('a', { hypervisorType: 'fake' }), { hw_vm_mode: 'xen', hw_machine_type: 'virt' })).toEqual({ pass: true });
    expect(check(host('a'), { hw_numa_nodes: '2', hw_mem_page_size: 'large', hw_firmware_type: 'uefi', os_distro: 'debian' })).toEqual({ pass: true });
  });
});
