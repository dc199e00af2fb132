'use client';

import { useMutation, useQuery } from '@tanstack/react-query';
import Link from 'next/link';
import { useEffect, useState } from 'react';
import { useTRPC } from '@/lib/trpc';
import { useWhoami } from '@/lib/whoami';
import { QueryState } from '@/components/ui/query-state';
import { ActionsCell, Table } from '@/components/ui/table';
import { DeleteButton, DeleteDialog } from '@/components/resources/delete-dialog';
import { formatDate } from '@/lib/format';
import { GatedButton } from '@/components/resources/gated-button';
import { useReadOnlyReason } from '@/components/resources/gate';
import resources from '@/components/resources/resources.module.css';
import ui from '@/components/ui/ui.module.css';
import { CreateServerGroupDialog } from './create-dialog';
import { groupAnchor, membersStay, perHostLimit, policyLabel, policyMeaning } from './policy';
import styles from './server-groups.module.css';
import type { ServerGroup } from './types';

function Members({ group }: { group: ServerGroup }) {
  if (!group.members.length) return <span className={ui.muted}>None</span>;
  return (
    <ul className={styles.members} aria-label={`Members of ${group.name}`}>
      {group.members.map((m) => (
        <li key={m.id}>
          <Link href={`/servers/${encodeURIComponent(m.id)}`}>{m.name}</Link> <span className={ui.muted}>{m.status}</span>
          {m.host ? <span className={`${ui.muted} ${resources.mono}`}> on {m.host}</span> : null}
        </li>
      ))}
    </ul>
  );
}

/** A link from elsewhere (an instance's overview) names a group's row: bring it into view once it is drawn. */
function useScrollToTarget(ready: boolean) {
  useEffect(() => {
    const id = ready ? decodeURIComponent(window.location.hash.slice(1)) : '';
    if (id) document.getElementById(id)?.scrollIntoView({ block: 'center' });
  }, [ready]);
}

/** The project's server groups: which servers the scheduler keeps together or apart, and how strictly. */
export function ServerGroupsView() {
  const trpc = useTRPC();
  const whoami = useWhoami();
  const blocked = useReadOnlyReason();
  const [allProjects, setAllProjects] = useState(false);
  const groups = useQuery(trpc.serverGroups.list.queryOptions(allProjects ? { allProjects: true } : {}));
  const remove = useMutation(trpc.serverGroups.delete.mutationOptions());
  const [creating, setCreating] = useState(false);
  const [deleting, setDeleting] = useState<ServerGroup | null>(null);
  useScrollToTarget(groups.isSuccess);
  // Administrators looking across projects see groups of projects they are not in: name those from the project list.
  const projects = useQuery({ ...trpc.projects.list.queryOptions(), enabled: whoami.isAdmin && allProjects });
  const projectName = (id: string) => (projects.data ?? whoami.projects).find((p) => p.id === id)?.name ?? id.slice(0, 8);

  const columns = ['Name', ...(allProjects ? ['Project'] : []), 'Policy', 'Max per host', 'Members', 'Created', 'Actions'];
  return (
    <>
      <div className={resources.toolbar}>
        <p className={ui.muted}>Servers launched into a group are placed on the same host or on different hosts, as its policy says.</p>
        <GatedButton blocked={blocked} onClick={() => setCreating(true)}>
          Create server group
        </GatedButton>
      </div>
      {whoami.isAdmin ? (
        <label className={resources.check}>
          <input type="checkbox" checked={allProjects} onChange={(e) => setAllProjects(e.target.checked)} />
          All projects
        </label>
      ) : null}
      <QueryState isPending={groups.isPending} error={groups.error} what="server groups" />
      {groups.data ? (
        <Table label="Server groups" className={resources.table} columns={columns} empty={groups.data.length === 0 ? 'No server groups yet.' : null}>
          {groups.data.map((group) => (
            <tr key={group.id} id={groupAnchor(group.id)} className={styles.row}>
              <td data-label="Name">{group.name}</td>
              {allProjects ? <td data-label="Project">{projectName(group.projectId)}</td> : null}
              <td data-label="Policy">
                <span title={policyMeaning(group.policy)}>{policyLabel(group.policy)}</span>
              </td>
              <td data-label="Max per host">{perHostLimit(group.policy, group.maxServerPerHost)}</td>
              <td data-label="Members">
                <Members group={group} />
              </td>
              <td data-label="Created">{formatDate(group.createdAt)}</td>
              <ActionsCell>
                <DeleteButton name={group.name} blocked={blocked} onClick={() => setDeleting(group)} />
              </ActionsCell>
            </tr>
          ))}
        </Table>
      ) : null}
      <CreateServerGroupDialog open={creating} onClose={() => setCreating(false)} />
      <DeleteDialog
        item={deleting}
        noun="server group"
        remove={(group) => remove.mutateAsync({ id: group.id })}
        refresh={[trpc.serverGroups.pathKey(), trpc.servers.pathKey(), trpc.limits.pathKey()]}
        onClose={() => setDeleting(null)}
      >
        will be deleted. {membersStay(deleting?.members.length ?? 0)}
      </DeleteDialog>
    </>
  );
}
