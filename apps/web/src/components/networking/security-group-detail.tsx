'use client';

import { useMutation, useQuery } from '@tanstack/react-query';
import { useRouter } from 'next/navigation';
import { useState } from 'react';
import { useTRPC } from '@/lib/trpc';
import { DeleteButton, DeleteDialog } from '@/components/resources/delete-dialog';
import { useReadOnlyReason } from '@/components/resources/gate';
import { Breadcrumb } from '@/components/ui/breadcrumb';
import { QueryState } from '@/components/ui/query-state';
import { ActionsCell, Table } from '@/components/ui/table';
import ui from '@/components/ui/ui.module.css';
import { ruleTraffic } from './format';
import { LiveError } from './live-error';
import { useNetworkLive } from './live';
import styles from './networking.module.css';
import { RuleForm } from './rule-form';
import type { SecurityGroupRule } from './types';

/** One security group: its rules (delete, asked first) and the form that adds one; live on networks.watch. */
export function SecurityGroupDetail({ id }: { id: string }) {
  const trpc = useTRPC();
  const nav = useRouter();
  const live = useNetworkLive();
  const readOnly = useReadOnlyReason();
  const group = useQuery(trpc.securityGroups.get.queryOptions({ id }));
  const groups = useQuery(trpc.securityGroups.list.queryOptions());
  const removeRule = useMutation(trpc.securityGroups.removeRule.mutationOptions());
  const removeGroup = useMutation(trpc.securityGroups.delete.mutationOptions());
  const [deletingRule, setDeletingRule] = useState<(SecurityGroupRule & { name: string }) | null>(null);
  const [deleting, setDeleting] = useState<{ name: string } | null>(null);
  const g = group.data;
  const nameOf = (gid: string) => groups.data?.find((x) => x.id === gid)?.name ?? gid.slice(0, 8);
  const remote = (r: SecurityGroupRule) => (r.remoteGroupId ? `group ${nameOf(r.remoteGroupId)}` : (r.remoteIpPrefix ?? (r.ethertype === 'IPv4' ? '0.0.0.0/0' : '::/0')));
  const ruleName = (r: SecurityGroupRule) => `${r.direction} ${ruleTraffic(r)} ${r.direction === 'ingress' ? 'from' : 'to'} ${remote(r)}`;
  return (
    <main className={`${ui.content} ${styles.page}`}>
      <Breadcrumb trail={[{ label: 'Security groups', href: '/security-groups' }, { label: g?.name ?? id }]} />
      <LiveError error={live.error} />
      <QueryState what="the security group" isPending={group.isPending} error={group.error} />
      {g ? (
        <>
          <div className={styles.header}>
            <h1>{g.name}</h1>
            <DeleteButton name={g.name} blocked={readOnly ?? (g.name === 'default' ? 'The default group cannot be deleted' : null)} onClick={() => setDeleting({ name: g.name })} />
          </div>
          {g.description ? <p>{g.description}</p> : null}
          <section className={styles.section} aria-labelledby="rules-heading">
            <h2 id="rules-heading">Rules</h2>
            <Table label="Rules" columns={['Direction', 'Ether type', 'Traffic', 'Remote', 'Description', 'Actions']} empty={g.rules.length === 0 ? 'No rules: nothing is allowed in or out.' : null}>
              {g.rules.map((r) => (
                <tr key={r.id}>
                  <td>{r.direction}</td>
                  <td>{r.ethertype}</td>
                  <td className={styles.mono}>{ruleTraffic(r)}</td>
                  <td className={styles.mono}>{remote(r)}</td>
                  <td>{r.description}</td>
                  <ActionsCell>
                    <DeleteButton name={`rule ${ruleName(r)}`} blocked={readOnly} onClick={() => setDeletingRule({ ...r, name: ruleName(r) })} />
                  </ActionsCell>
                </tr>
              ))}
            </Table>
          </section>
          <section className={`${ui.card} ${styles.section}`} aria-labelledby="add-rule-heading">
            <h2 id="add-rule-heading">Add rule</h2>
            <RuleForm group={g} groups={groups.data ?? []} blocked={readOnly} />
          </section>
        </>
      ) : null}
      <DeleteDialog item={deletingRule} noun="rule" remove={(r) => removeRule.mutateAsync({ id: r.id })} refresh={[trpc.securityGroups.pathKey()]} onClose={() => setDeletingRule(null)}>
        will be deleted; running servers in this group stop allowing it within a second.
      </DeleteDialog>
      <DeleteDialog
        item={deleting}
        noun="security group"
        remove={async () => {
          await removeGroup.mutateAsync({ id });
          nav.push('/security-groups');
        }}
        refresh={[trpc.securityGroups.pathKey()]}
        onClose={() => setDeleting(null)}
      >
        and its rules will be deleted. A group in use by a port cannot be deleted.
      </DeleteDialog>
    </main>
  );
}
