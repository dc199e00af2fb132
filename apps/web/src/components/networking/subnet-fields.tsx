'use client';

import { useId } from 'react';
import { Field } from '@/components/ui/form';
import styles from './networking.module.css';
import type { SubnetInput } from './types';

export interface SubnetDraft {
  cidr: string;
  gateway: string;
  noGateway: boolean;
  allocationStart: string;
  allocationEnd: string;
  enableDhcp: boolean;
  dnsServers: string;
}

export const emptySubnet: SubnetDraft = { cidr: '', gateway: '', noGateway: false, allocationStart: '', allocationEnd: '', enableDhcp: true, dnsServers: '' };

/** Leaves out what was left empty, so the API picks its defaults (first address as gateway, the rest as the range). */
const optional = (value: string) => (value.trim() ? value.trim() : undefined);

/** The draft as subnets.create (or networks.create's `subnet`) takes it; the API checks every field and names the one it refuses. */
export function subnetSettings(d: SubnetDraft): Omit<SubnetInput, 'networkId' | 'name'> {
  const dns = d.dnsServers
    .split(/[\s,]+/)
    .map((s) => s.trim())
    .filter(Boolean);
  return {
    cidr: d.cidr.trim(),
    ...(d.noGateway ? { gateway: null } : optional(d.gateway) ? { gateway: d.gateway.trim() } : {}),
    ...(optional(d.allocationStart) ? { allocationStart: d.allocationStart.trim() } : {}),
    ...(optional(d.allocationEnd) ? { allocationEnd: d.allocationEnd.trim() } : {}),
    enableDhcp: d.enableDhcp,
    ...(dns.length ? { dnsServers: dns } : {}),
  };
}

/** A subnet's fields: CIDR, gateway (or none), allocation range, DHCP and DNS servers. */
export function SubnetFields({ draft, set }: { draft: SubnetDraft; set: (change: Partial<SubnetDraft>) => void }) {
  const id = useId();
  const text = (key: 'cidr' | 'gateway' | 'allocationStart' | 'allocationEnd' | 'dnsServers') => (e: { target: { value: string } }) => set({ [key]: e.target.value });
  return (
    <>
      <div className={styles.inline}>
        <div className={styles.grow}>
          <Field id={`${id}-cidr`} label="Subnet CIDR">
            <input id={`${id}-cidr`} required placeholder="10.0.0.0/24" value={draft.cidr} onChange={text('cidr')} autoComplete="off" />
          </Field>
        </div>
        <div className={styles.grow}>
          <Field id={`${id}-gateway`} label="Gateway (optional)">
            <input id={`${id}-gateway`} placeholder="first address" disabled={draft.noGateway} value={draft.gateway} onChange={text('gateway')} autoComplete="off" />
          </Field>
        </div>
      </div>
      <label className={styles.check}>
        <input type="checkbox" checked={draft.noGateway} onChange={(e) => set({ noGateway: e.target.checked })} />
        No gateway (the subnet cannot join a router)
      </label>
      <div className={styles.inline}>
        <div className={styles.grow}>
          <Field id={`${id}-start`} label="Allocation start (optional)">
            <input id={`${id}-start`} value={draft.allocationStart} onChange={text('allocationStart')} autoComplete="off" />
          </Field>
        </div>
        <div className={styles.grow}>
          <Field id={`${id}-end`} label="Allocation end (optional)">
            <input id={`${id}-end`} value={draft.allocationEnd} onChange={text('allocationEnd')} autoComplete="off" />
          </Field>
        </div>
      </div>
      <label className={styles.check}>
        <input type="checkbox" checked={draft.enableDhcp} onChange={(e) => set({ enableDhcp: e.target.checked })} />
        DHCP (servers get their address and routes from the network)
      </label>
      <Field id={`${id}-dns`} label="DNS servers (optional)" hint="Up to 5 addresses, separated by commas or spaces.">
        <input id={`${id}-dns`} placeholder="192.168.122.1" value={draft.dnsServers} onChange={text('dnsServers')} autoComplete="off" />
      </Field>
    </>
  );
}
