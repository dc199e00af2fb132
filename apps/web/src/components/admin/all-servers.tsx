'use client';

import { useQuery } from '@tanstack/react-query';
import Link from 'next/link';
import { useMemo, useState } from 'react';
import { describeApiError } from '@/lib/api-error';
import { useServerWatch } from '@/lib/server-watch';
import { useTRPC } from '@/lib/trpc';
import { QueryState } from '@/components/ui/query-state';
import { Table } from '@/components/ui/table';
import ui from '@/components/ui/ui.module.css';
import styles from './admin.module.css';
import { ALL_SERVERS_INPUT as LIST_INPUT } from './all-servers-input';
import type { Server } from './types';

/** The newer of two views of a server, by change number (a list read and an event may arrive in either order). */
function newer(a: Server, b: Server | undefined): Server {
  if (!b) return a;
  return BigInt(a.changeSeq) >= BigInt(b.changeSeq) ? a : b;
}

function addressesOf(s: Server): string {
  return Object.entries(s.addresses)
    .map(([network, list]) => `${network}: ${list.map((a) => a.ip).join(', ')}`)
    .join('; ');
}

export function AllServers() {
  const trpc = useTRPC();
  const list = useQuery(trpc.servers.list.queryOptions(LIST_INPUT));
  const projects = useQuery(trpc.projects.list.queryOptions());
  // Changes pushed since the list was read, by server id; a deleted server's last change removes it.
  const [changes, setChanges] = useState<ReadonlyMap<string, Server>>(new Map());
  const watch = useServerWatch({
    // Re-reading once the feed is open leaves no gap between the first read and the first event.
    onStarted: () => void list.refetch(),
    onData: (server) => setChanges((all) => new Map(all).set(server.id, newer(server, all.get(server.id)))),
  });

  const rows = useMemo(() => {
    const byId = new Map<string, Server>();
    for (const s of list.data?.servers ?? []) byId.set(s.id, newer(s, changes.get(s.id)));
    for (const [id, s] of changes) byId.set(id, newer(s, byId.get(id)));
    return [...byId.values()]
      .filter((s) => s.status !== 'DELETED' && !s.deletedAt)
      .sort((a, b) => b.created.localeCompare(a.created));
  }, [list.data, changes]);
  const projectName = useMemo(() => new Map(projects.data?.map((p) => [p.id, p.name])), [projects.data]);

  return (
    <>
      <QueryState what="instances" isPending={list.isPending} error={list.error} />
      {watch.error ? (
        <p role="alert" className={ui.alert}>
          Live updates stopped: {describeApiError(watch.error)}
        </p>
      ) : null}
      {projects.error ? (
        <p role="alert" className={ui.alert}>
          Project names could not be loaded: {describeApiError(projects.error)}
        </p>
      ) : null}
      {list.data?.nextMarker ? <p className={ui.muted}>Showing the newest {LIST_INPUT.limit} instances.</p> : null}
      {list.data ? (
        <Table label="All instances" className={styles.table} columns={['Name', 'Project', 'Status', 'Host', 'Addresses', 'Flavor']} empty={rows.length === 0 ? 'No instances in any project.' : null}>
          {rows.map((s) => (
            <tr key={s.id}>
              <td>
                <Link href={`/servers/${encodeURIComponent(s.id)}`}>{s.name}</Link>
              </td>
              <td>{projectName.get(s.projectId) ?? s.projectId}</td>
              <td>
                {s.status}
                {s.taskState ? <span className={ui.muted}> ({s.taskState})</span> : null}
              </td>
              <td>{s.host ?? <span className={ui.muted}>—</span>}</td>
              <td>{addressesOf(s) || <span className={ui.muted}>—</span>}</td>
              <td>{s.flavor.name}</td>
            </tr>
          ))}
        </Table>
      ) : null}
    </>
  );
}
