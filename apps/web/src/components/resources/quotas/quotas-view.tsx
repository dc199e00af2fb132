'use client';

import { useQuery } from '@tanstack/react-query';
import { useTRPC } from '@/lib/trpc';
import { useWhoami } from '@/lib/whoami';
import { QueryState } from '@/components/ui/query-state';
import { QuotaForm } from './quota-form';
import { UsageBars } from './usage-bars';
import { UsageChart } from './usage-chart';

/** The current project's usage against its limits, the recent history, and (for administrators) the editor. */
export function QuotasView() {
  const trpc = useTRPC();
  const whoami = useWhoami();
  const limits = useQuery(trpc.limits.get.queryOptions());
  return (
    <>
      <section aria-labelledby="usage-heading">
        <h2 id="usage-heading">Usage of project {limits.data?.project.name ?? whoami.project.name}</h2>
        <QueryState isPending={limits.isPending} error={limits.error} what="limits" />
        {limits.data ? <UsageBars limits={limits.data} /> : null}
      </section>
      <UsageChart />
      {whoami.isAdmin ? <QuotaForm /> : null}
    </>
  );
}
