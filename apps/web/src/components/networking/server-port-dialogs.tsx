'use client';

import { useMutation, useQuery } from '@tanstack/react-query';
import { useId, useState, type FormEvent } from 'react';
import { useToast } from '@/components/toast';
import { useTRPC } from '@/lib/trpc';
import { Dialog } from '@/components/ui/dialog';
import { ErrorAlert } from '@/components/ui/query-state';
import { Field, FormButtons } from '@/components/ui/form';
import ui from '@/components/ui/ui.module.css';
import styles from './networking.module.css';
import { useExternalNetworks } from './routers-view';
import type { Port } from './types';

const ALLOCATE = 'allocate:';

/** Associate a floating IP with one of the server's ports: a free one of the project's, or a new one allocated for it. */
export function AssociatePortDialog({ port, serverName, onClose }: { port: Port; serverName: string; onClose: () => void }) {
  const trpc = useTRPC();
  const toast = useToast();
  const id = useId();
  const ips = useQuery(trpc.floatingIps.list.queryOptions());
  const externals = useExternalNetworks();
  const free = (ips.data ?? []).filter((ip) => !ip.portId);
  const [picked, setPicked] = useState<string | null>(null);
  const choice = picked ?? (free[0]?.id ?? (externals.data?.[0] ? `${ALLOCATE}${externals.data[0].id}` : ''));
  const said = (ip: string) => {
    toast.show('success', `Floating IP ${ip} associated with ${serverName}`);
    onClose();
  };
  const associate = useMutation(trpc.floatingIps.update.mutationOptions({ onSuccess: (ip) => said(ip.floatingIp) }));
  const allocate = useMutation(trpc.floatingIps.create.mutationOptions({ onSuccess: (ip) => said(ip.floatingIp) }));
  const submit = (event: FormEvent) => {
    event.preventDefault();
    if (choice.startsWith(ALLOCATE)) allocate.mutate({ floatingNetwork: choice.slice(ALLOCATE.length), portId: port.id });
    else associate.mutate({ id: choice, portId: port.id });
  };
  return (
    <Dialog title={`Associate a floating IP with ${serverName}`} onClose={onClose}>
      <form className={ui.form} onSubmit={submit}>
        <p>
          Port <span className={styles.mono}>{port.ip}</span> on {port.networkName}. Its network must be joined to a router whose gateway is on the floating IP&apos;s network.
        </p>
        <Field id={`${id}-ip`} label="Floating IP">
          <select id={`${id}-ip`} value={choice} onChange={(e) => setPicked(e.target.value)}>
            {free.map((ip) => (
              <option key={ip.id} value={ip.id}>
                {ip.floatingIp} ({ip.floatingNetworkName})
              </option>
            ))}
            {externals.data?.map((n) => (
              <option key={n.id} value={`${ALLOCATE}${n.id}`}>
                Allocate a new one from {n.name}
              </option>
            ))}
          </select>
        </Field>
        <ErrorAlert error={ips.error ?? externals.error} />
        <ErrorAlert error={associate.error ?? allocate.error} />
        <FormButtons label="Associate" pending={associate.isPending || allocate.isPending} disabled={!choice} onCancel={onClose} />
      </form>
    </Dialog>
  );
}

/** The port's security groups, as checkboxes; ports.update replaces them, and running guests follow within a second. */
export function PortGroupsDialog({ port, onClose }: { port: Port; onClose: () => void }) {
  const trpc = useTRPC();
  const toast = useToast();
  const groups = useQuery(trpc.securityGroups.list.queryOptions());
  const [chosen, setChosen] = useState(() => new Set(port.securityGroupIds));
  const update = useMutation(
    trpc.ports.update.mutationOptions({
      onSuccess: () => {
        toast.show('success', `Security groups of port ${port.ip} saved`);
        onClose();
      },
    }),
  );
  const toggle = (gid: string, on: boolean) =>
    setChosen((old) => {
      const next = new Set(old);
      if (on) next.add(gid);
      else next.delete(gid);
      return next;
    });
  const submit = (event: FormEvent) => {
    event.preventDefault();
    update.mutate({ id: port.id, securityGroups: [...chosen] });
  };
  return (
    <Dialog title={`Security groups of port ${port.ip}`} onClose={onClose}>
      <form className={ui.form} onSubmit={submit}>
        <fieldset className={styles.checks}>
          <legend>Security groups</legend>
          {groups.data?.map((g) => (
            <label key={g.id} className={styles.check}>
              <input type="checkbox" checked={chosen.has(g.id)} onChange={(e) => toggle(g.id, e.target.checked)} />
              {g.name}
            </label>
          ))}
          {groups.isPending ? <span className={ui.muted}>Loading…</span> : null}
        </fieldset>
        {chosen.size === 0 ? <p className={ui.muted}>With no group, the port allows no traffic at all (port security stays on).</p> : null}
        <ErrorAlert error={groups.error} />
        <ErrorAlert error={update.error} />
        <FormButtons label="Save" pending={update.isPending} onCancel={onClose} />
      </form>
    </Dialog>
  );
}
