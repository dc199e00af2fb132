'use client';

import { useMutation } from '@tanstack/react-query';
import { useId, useState, type FormEvent } from 'react';
import { useToast } from '@/components/toast';
import { useTRPC } from '@/lib/trpc';
import { ErrorAlert } from '@/components/ui/query-state';
import { Field } from '@/components/ui/form';
import ui from '@/components/ui/ui.module.css';
import { ruleTraffic } from './format';
import styles from './networking.module.css';
import type { RuleInput, SecurityGroup } from './types';

interface Draft {
  direction: 'ingress' | 'egress';
  ethertype: 'IPv4' | 'IPv6';
  protocol: string;
  portMin: string;
  portMax: string;
  remote: 'cidr' | 'group';
  remoteIpPrefix: string;
  remoteGroupId: string;
  description: string;
}

const empty: Draft = { direction: 'ingress', ethertype: 'IPv4', protocol: 'tcp', portMin: '', portMax: '', remote: 'cidr', remoteIpPrefix: '0.0.0.0/0', remoteGroupId: '', description: '' };

/** Horizon's rule templates: the usual ones in one click, from anywhere. */
const PRESETS: { label: string; draft: Partial<Draft> }[] = [
  { label: 'SSH', draft: { protocol: 'tcp', portMin: '22', portMax: '22', description: 'SSH' } },
  { label: 'HTTP', draft: { protocol: 'tcp', portMin: '80', portMax: '80', description: 'HTTP' } },
  { label: 'HTTPS', draft: { protocol: 'tcp', portMin: '443', portMax: '443', description: 'HTTPS' } },
  { label: 'ICMP', draft: { protocol: 'icmp', portMin: '', portMax: '', description: 'ICMP (ping)' } },
];

/** A port number as typed, or null for none; what is not a number goes to the API as it is, for it to say why. */
const portValue = (s: string): number | null => (s.trim() === '' ? null : Number(s.trim()));

export function ruleInput(groupId: string, d: Draft): RuleInput {
  const hasPorts = d.protocol === 'tcp' || d.protocol === 'udp' || d.protocol === 'icmp';
  const min = hasPorts ? portValue(d.portMin) : null;
  // One port when only the first is given (as Horizon's "Port").
  const max = hasPorts ? (portValue(d.portMax) ?? (d.protocol === 'icmp' ? null : min)) : null;
  return {
    securityGroupId: groupId,
    direction: d.direction,
    ethertype: d.ethertype,
    protocol: d.protocol === 'any' ? null : d.protocol,
    portRangeMin: min,
    portRangeMax: max,
    ...(d.remote === 'group' ? { remoteGroupId: d.remoteGroupId || null, remoteIpPrefix: null } : { remoteIpPrefix: d.remoteIpPrefix.trim() || null, remoteGroupId: null }),
    ...(d.description.trim() ? { description: d.description.trim() } : {}),
  };
}

/** "Add rule": direction, protocol, port range, remote CIDR or group, with presets; the API's refusal stays here. */
export function RuleForm({ group, groups, blocked }: { group: SecurityGroup; groups: SecurityGroup[]; blocked: string | null }) {
  const trpc = useTRPC();
  const toast = useToast();
  const id = useId();
  const [d, setD] = useState(empty);
  const set = (change: Partial<Draft>) => setD((old) => ({ ...old, ...change }));
  const add = useMutation(
    trpc.securityGroups.addRule.mutationOptions({
      onSuccess: (rule) => {
        toast.show('success', `Rule ${rule.direction} ${ruleTraffic(rule)} added to ${group.name}`);
        setD(empty);
      },
    }),
  );
  const submit = (event: FormEvent) => {
    event.preventDefault();
    add.mutate(ruleInput(group.id, d));
  };
  const ports = d.protocol === 'tcp' || d.protocol === 'udp';
  return (
    <form className={ui.form} onSubmit={submit} aria-label="Add rule">
      <div className={styles.presets}>
        <span className={ui.muted}>Presets:</span>
        {PRESETS.map((p) => (
          <button key={p.label} type="button" className={`${ui.secondary} ${ui.small}`} onClick={() => set({ ...empty, ...p.draft })}>
            {p.label}
          </button>
        ))}
      </div>
      <div className={styles.inline}>
        <Field id={`${id}-dir`} label="Direction">
          <select id={`${id}-dir`} value={d.direction} onChange={(e) => set({ direction: e.target.value as Draft['direction'] })}>
            <option value="ingress">Ingress</option>
            <option value="egress">Egress</option>
          </select>
        </Field>
        <Field id={`${id}-eth`} label="Ether type">
          <select id={`${id}-eth`} value={d.ethertype} onChange={(e) => set({ ethertype: e.target.value as Draft['ethertype'] })}>
            <option value="IPv4">IPv4</option>
            <option value="IPv6">IPv6</option>
          </select>
        </Field>
        <Field id={`${id}-proto`} label="Protocol">
          <select id={`${id}-proto`} value={d.protocol} onChange={(e) => set({ protocol: e.target.value })}>
            <option value="tcp">TCP</option>
            <option value="udp">UDP</option>
            <option value="icmp">ICMP</option>
            <option value="any">Any</option>
          </select>
        </Field>
        <Field id={`${id}-min`} label={d.protocol === 'icmp' ? 'ICMP type' : 'Port from'}>
          <input id={`${id}-min`} inputMode="numeric" size={7} disabled={!ports && d.protocol !== 'icmp'} placeholder={ports ? 'any' : ''} value={d.portMin} onChange={(e) => set({ portMin: e.target.value })} />
        </Field>
        <Field id={`${id}-max`} label={d.protocol === 'icmp' ? 'ICMP code' : 'Port to'}>
          <input id={`${id}-max`} inputMode="numeric" size={7} disabled={!ports && d.protocol !== 'icmp'} placeholder={ports ? 'same' : ''} value={d.portMax} onChange={(e) => set({ portMax: e.target.value })} />
        </Field>
      </div>
      <div className={styles.inline}>
        <Field id={`${id}-remote`} label="Remote">
          <select id={`${id}-remote`} value={d.remote} onChange={(e) => set({ remote: e.target.value as Draft['remote'] })}>
            <option value="cidr">CIDR</option>
            <option value="group">Security group</option>
          </select>
        </Field>
        {d.remote === 'cidr' ? (
          <div className={styles.grow}>
            <Field id={`${id}-cidr`} label="Remote CIDR">
              <input id={`${id}-cidr`} value={d.remoteIpPrefix} onChange={(e) => set({ remoteIpPrefix: e.target.value })} autoComplete="off" />
            </Field>
          </div>
        ) : (
          <div className={styles.grow}>
            <Field id={`${id}-group`} label="Remote group">
              <select id={`${id}-group`} value={d.remoteGroupId} onChange={(e) => set({ remoteGroupId: e.target.value })}>
                <option value="">Choose a group</option>
                {groups.map((g) => (
                  <option key={g.id} value={g.id}>
                    {g.name}
                  </option>
                ))}
              </select>
            </Field>
          </div>
        )}
        <div className={styles.grow}>
          <Field id={`${id}-desc`} label="Description (optional)">
            <input id={`${id}-desc`} maxLength={255} value={d.description} onChange={(e) => set({ description: e.target.value })} autoComplete="off" />
          </Field>
        </div>
      </div>
      <ErrorAlert error={add.error} />
      <div className={ui.buttons}>
        <button type="submit" disabled={Boolean(blocked) || add.isPending} title={blocked ?? undefined} aria-busy={add.isPending}>
          Add rule
        </button>
      </div>
    </form>
  );
}
