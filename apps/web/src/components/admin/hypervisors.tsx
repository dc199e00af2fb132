'use client';

import { useQuery } from '@tanstack/react-query';
import { useTRPC } from '@/lib/trpc';
import { QueryState } from '@/components/ui/query-state';
import ui from '@/components/ui/ui.module.css';
import styles from './admin.module.css';
import { formatDate } from '@/lib/format';
import type { Hypervisor } from './types';
import { UsageBar } from './usage-bar';

/** Why the agent fell back to software emulation, as it reported at start. */
function domainTypeReason(h: Hypervisor): string | null {
  const reason = h.capabilities.domainTypeReason;
  return typeof reason === 'string' && reason ? reason : null;
}

function HypervisorCard({ h }: { h: Hypervisor }) {
  const reason = domainTypeReason(h);
  return (
    <article className={ui.card} aria-labelledby={`hv-${h.host}`}>
      <div className={styles.cardHeader}>
        <h2 id={`hv-${h.host}`}>{h.host}</h2>
        <span className={h.status === 'up' ? styles.badgeGood : styles.badgeBad}>{h.status}</span>
        <span className={h.state === 'enabled' ? styles.badgeGood : styles.badgeBad}>{h.state}</span>
        {h.forcedDown ? <span className={styles.badgeBad}>forced down</span> : null}
      </div>
      <dl className={ui.facts}>
        <dt>Hypervisor type</dt>
        <dd>
          {h.hypervisorType}
          {h.hypervisorType === 'qemu' && reason ? <span className={ui.muted}> — {reason}</span> : null}
        </dd>
        {h.state === 'disabled' ? (
          <>
            <dt>Disabled because</dt>
            <dd>{h.disabledReason ?? 'no reason given'}</dd>
          </>
        ) : null}
        <dt>Availability zone</dt>
        <dd>{h.availabilityZone}</dd>
        <dt>Aggregates</dt>
        <dd>{h.aggregates.length ? h.aggregates.join(', ') : <span className={ui.muted}>None</span>}</dd>
        {h.forcedDown ? (
          <>
            <dt>Forced down</dt>
            <dd>An operator marked it dead: the scheduler places nothing here until that is cleared on the services page.</dd>
          </>
        ) : null}
        <dt>Failed builds</dt>
        <dd>
          {h.failedBuilds}
          {h.failedBuilds > 0 ? <span className={ui.muted}> since its last successful build; the scheduler prefers other hosts</span> : null}
        </dd>
        <dt>Running VMs</dt>
        <dd>{h.runningVms}</dd>
        <dt>Updated</dt>
        <dd>{formatDate(h.updatedAt)}</dd>
      </dl>
      <UsageBar label="vCPU" unit="vCPUs" resource={h.vcpus} />
      <UsageBar label="RAM" unit="MiB" resource={h.ramMb} />
      <UsageBar label="Disk" unit="GiB" resource={h.diskGb} />
    </article>
  );
}

export function Hypervisors() {
  const trpc = useTRPC();
  const { data, isPending, error } = useQuery(trpc.hypervisors.list.queryOptions());
  return (
    <>
      <QueryState what="hypervisors" isPending={isPending} error={error} />
      {data && data.length === 0 ? <p>No compute host has registered yet.</p> : null}
      <div className={styles.cards}>
        {data?.map((h) => (
          <HypervisorCard key={h.host} h={h} />
        ))}
      </div>
    </>
  );
}
