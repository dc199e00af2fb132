'use client';

import { useMutation, useQuery } from '@tanstack/react-query';
import { useId, useState, type FormEvent } from 'react';
import { useToast } from '@/components/toast';
import { useTRPC } from '@/lib/trpc';
import { GatedButton } from '@/components/resources/gated-button';
import { ConfirmDialog } from '@/components/ui/confirm-dialog';
import { ErrorAlert } from '@/components/ui/query-state';
import { Field } from '@/components/ui/form';
import { ActionsCell, Table } from '@/components/ui/table';
import ui from '@/components/ui/ui.module.css';
import styles from './networking.module.css';
import { ExternalNetworkOptions, useExternalNetworks } from './routers-view';
import type { Router } from './types';

/** The gateway: which external network, its address, SNAT; set, change or clear it. */
export function GatewaySection({ router, blocked }: { router: Router; blocked: string | null }) {
  const trpc = useTRPC();
  const toast = useToast();
  const id = useId();
  const externals = useExternalNetworks();
  const [picked, setPicked] = useState<string | null>(null);
  const [snat, setSnat] = useState(router.externalGateway?.enableSnat ?? true);
  const [clearing, setClearing] = useState(false);
  const networkId = picked ?? router.externalGateway?.networkId ?? externals.data?.[0]?.id ?? '';
  const update = useMutation(trpc.routers.update.mutationOptions());
  const gw = router.externalGateway;
  const submit = (event: FormEvent) => {
    event.preventDefault();
    update.mutate(
      { id: router.id, externalGateway: { networkId, enableSnat: snat } },
      { onSuccess: (r) => toast.show('success', `Router ${r.name}'s gateway is on ${r.externalGateway?.networkName ?? 'no network'}`) },
    );
  };
  return (
    <section className={styles.section} aria-labelledby={`${id}-h`}>
      <h2 id={`${id}-h`}>External gateway</h2>
      <p>
        {gw ? (
          <>
            On <strong>{gw.networkName}</strong> at <span className={styles.mono}>{gw.ip ?? '(no address yet)'}</span>, SNAT {gw.enableSnat ? 'on' : 'off'}.
          </>
        ) : (
          <span className={ui.muted}>No gateway: servers behind this router cannot reach outside, and no floating IP reaches them through it.</span>
        )}
      </p>
      <form className={styles.inline} onSubmit={submit} aria-label="Set gateway">
        <div className={styles.grow}>
          <Field id={`${id}-net`} label="External network">
            <select id={`${id}-net`} value={networkId} onChange={(e) => setPicked(e.target.value)}>
              {externals.data?.length ? null : <option value="">No external network</option>}
              <ExternalNetworkOptions networks={externals.data} />
            </select>
          </Field>
        </div>
        <label className={styles.check}>
          <input type="checkbox" checked={snat} onChange={(e) => setSnat(e.target.checked)} />
          SNAT
        </label>
        <button type="submit" disabled={Boolean(blocked) || !networkId || update.isPending} title={blocked ?? undefined} aria-busy={update.isPending}>
          {gw ? 'Change gateway' : 'Set gateway'}
        </button>
        {gw ? (
          <GatedButton blocked={blocked} className={ui.secondary} onClick={() => setClearing(true)}>
            Clear gateway
          </GatedButton>
        ) : null}
      </form>
      <ErrorAlert error={update.error} />
      <ConfirmDialog
        open={clearing}
        title={`Clear the gateway of ${router.name}`}
        confirmLabel="Clear gateway"
        onConfirm={() => update.mutateAsync({ id: router.id, externalGateway: null }).then(() => toast.show('success', `Router ${router.name}'s gateway cleared`))}
        onClose={() => setClearing(false)}
      >
        <p>Servers behind {router.name} will no longer reach outside through it. A gateway with floating IPs in use cannot be cleared.</p>
      </ConfirmDialog>
    </section>
  );
}

/** Interfaces on subnets: add one by subnet (the subnet's gateway address becomes the router's), remove one. */
export function InterfacesSection({ router, blocked }: { router: Router; blocked: string | null }) {
  const trpc = useTRPC();
  const toast = useToast();
  const id = useId();
  const networks = useQuery(trpc.networks.list.queryOptions());
  const [subnetId, setSubnetId] = useState('');
  const [removing, setRemoving] = useState<Router['interfaces'][number] | null>(null);
  const add = useMutation(trpc.routers.addInterface.mutationOptions());
  const remove = useMutation(trpc.routers.removeInterface.mutationOptions());
  const attached = new Set(router.interfaces.map((f) => f.subnetId));
  const choices = (networks.data ?? []).filter((n) => !n.external).flatMap((n) => n.subnets.filter((s) => !attached.has(s.id)).map((s) => ({ ...s, networkName: n.name })));
  const submit = (event: FormEvent) => {
    event.preventDefault();
    add.mutate(
      { routerId: router.id, subnetId },
      {
        onSuccess: () => {
          toast.show('success', `Router ${router.name} has an interface on ${choices.find((c) => c.id === subnetId)?.cidr ?? 'the subnet'}`);
          setSubnetId('');
        },
      },
    );
  };
  return (
    <section className={styles.section} aria-labelledby={`${id}-h`}>
      <h2 id={`${id}-h`}>Interfaces</h2>
      <Table label="Interfaces" columns={['Network', 'Subnet', 'Address', 'Actions']} empty={router.interfaces.length === 0 ? 'No interfaces: add one on a subnet to route it.' : null}>
        {router.interfaces.map((f) => (
          <tr key={f.portId}>
            <td>{f.networkName}</td>
            <td className={styles.mono}>{f.cidr}</td>
            <td className={styles.mono}>{f.ip}</td>
            <ActionsCell>
              <GatedButton blocked={blocked} className={ui.danger} aria-label={`Remove interface ${f.ip}`} onClick={() => setRemoving(f)}>
                Remove
              </GatedButton>
            </ActionsCell>
          </tr>
        ))}
      </Table>
      <form className={styles.inline} onSubmit={submit} aria-label="Add interface">
        <div className={styles.grow}>
          <Field id={`${id}-subnet`} label="Subnet">
            <select id={`${id}-subnet`} value={subnetId} onChange={(e) => setSubnetId(e.target.value)}>
              <option value="">Choose a subnet</option>
              {choices.map((s) => (
                <option key={s.id} value={s.id}>
                  {s.networkName}: {s.cidr}
                  {s.gateway ? ` (gateway ${s.gateway})` : ' (no gateway)'}
                </option>
              ))}
            </select>
          </Field>
        </div>
        <button type="submit" disabled={Boolean(blocked) || !subnetId || add.isPending} title={blocked ?? undefined} aria-busy={add.isPending}>
          Add interface
        </button>
      </form>
      <ErrorAlert error={add.error} />
      <ConfirmDialog
        open={removing !== null}
        title={`Remove interface ${removing?.ip ?? ''}`}
        confirmLabel="Remove interface"
        onConfirm={() => (removing ? remove.mutateAsync({ routerId: router.id, subnetId: removing.subnetId }).then(() => toast.show('success', `Interface ${removing.ip} removed`)) : undefined)}
        onClose={() => setRemoving(null)}
      >
        <p>
          {router.name} will no longer route {removing?.cidr} ({removing?.networkName}). An interface that floating IPs reach servers through cannot be removed.
        </p>
      </ConfirmDialog>
    </section>
  );
}

/** Static routes: destination and next hop; the list is replaced whole by routers.update. */
export function RoutesSection({ router, blocked }: { router: Router; blocked: string | null }) {
  const trpc = useTRPC();
  const toast = useToast();
  const id = useId();
  const [destination, setDestination] = useState('');
  const [nexthop, setNexthop] = useState('');
  const update = useMutation(trpc.routers.update.mutationOptions());
  const save = (routes: Router['routes'], said: string) => update.mutateAsync({ id: router.id, routes }).then(() => toast.show('success', said));
  const submit = (event: FormEvent) => {
    event.preventDefault();
    void save([...router.routes, { destination: destination.trim(), nexthop: nexthop.trim() }], `Route to ${destination.trim()} added`)
      .then(() => {
        setDestination('');
        setNexthop('');
      })
      .catch(() => {});
  };
  return (
    <section className={styles.section} aria-labelledby={`${id}-h`}>
      <h2 id={`${id}-h`}>Static routes</h2>
      <Table label="Static routes" columns={['Destination', 'Next hop', 'Actions']} empty={router.routes.length === 0 ? 'No static routes.' : null}>
        {router.routes.map((r, i) => (
          <tr key={`${r.destination}-${r.nexthop}`}>
            <td className={styles.mono}>{r.destination}</td>
            <td className={styles.mono}>{r.nexthop}</td>
            <ActionsCell>
              <GatedButton
                blocked={blocked}
                className={ui.danger}
                aria-label={`Remove route to ${r.destination}`}
                onClick={() => void save(router.routes.filter((_, j) => j !== i), `Route to ${r.destination} removed`).catch(() => {})}
              >
                Remove
              </GatedButton>
            </ActionsCell>
          </tr>
        ))}
      </Table>
      <form className={styles.inline} onSubmit={submit} aria-label="Add route">
        <div className={styles.grow}>
          <Field id={`${id}-dest`} label="Destination CIDR">
            <input id={`${id}-dest`} placeholder="10.20.0.0/24" value={destination} onChange={(e) => setDestination(e.target.value)} autoComplete="off" />
          </Field>
        </div>
        <div className={styles.grow}>
          <Field id={`${id}-hop`} label="Next hop">
            <input id={`${id}-hop`} placeholder="10.0.0.254" value={nexthop} onChange={(e) => setNexthop(e.target.value)} autoComplete="off" />
          </Field>
        </div>
        <button type="submit" disabled={Boolean(blocked) || !destination.trim() || !nexthop.trim() || update.isPending} title={blocked ?? undefined} aria-busy={update.isPending}>
          Add route
        </button>
      </form>
      <ErrorAlert error={update.error} />
    </section>
  );
}
