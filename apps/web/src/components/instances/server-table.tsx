'use client';

import Link from 'next/link';
import { useWhoami } from '@/lib/whoami';
import ui from '@/components/ui/ui.module.css';
import { formatDate } from '@/lib/format';
import { age, ips } from './format';
import styles from './instances.module.css';
import { RowActions } from './row-actions';
import { StatusCell } from './status-cell';
import type { ListInput, RowAction, Server } from './types';

type SortKey = 'name' | 'created';

interface Props {
  servers: Server[];
  input: ListInput;
  now: number;
  selected: ReadonlySet<string>;
  onSelect: (ids: string[], on: boolean) => void;
  onSort: (key: SortKey) => void;
  onAction: (action: RowAction, server: Server) => void;
}

function SortHeader({ label, sortKey, input, onSort }: { label: string; sortKey: SortKey; input: ListInput; onSort: (key: SortKey) => void }) {
  const active = (input.sortKey ?? 'created') === sortKey;
  const dir = input.sortDir ?? 'desc';
  return (
    <th scope="col" aria-sort={active ? (dir === 'asc' ? 'ascending' : 'descending') : 'none'}>
      <button type="button" className={styles.sort} onClick={() => onSort(sortKey)}>
        {label}
        <span aria-hidden="true">{active ? (dir === 'asc' ? ' ▲' : ' ▼') : ''}</span>
      </button>
    </th>
  );
}

export function ServerTable({ servers, input, now, selected, onSelect, onSort, onAction }: Props) {
  const whoami = useWhoami();
  const projectName = (id: string) => whoami.projects.find((p) => p.id === id)?.name ?? id.slice(0, 8);
  const allSelected = servers.length > 0 && servers.every((s) => selected.has(s.id));
  return (
    <div className={ui.tableWrap}>
      <table className={`${ui.table} ${styles.table}`}>
        <caption className={styles.srOnly}>Servers</caption>
        <thead>
          <tr>
            <th scope="col">
              <input
                type="checkbox"
                aria-label="Select all"
                checked={allSelected}
                disabled={servers.length === 0}
                onChange={(e) => onSelect(servers.map((s) => s.id), e.target.checked)}
              />
            </th>
            <SortHeader label="Name" sortKey="name" input={input} onSort={onSort} />
            {input.allProjects ? <th scope="col">Project</th> : null}
            <th scope="col">Status</th>
            <th scope="col" className={styles.wide}>
              Addresses
            </th>
            <th scope="col" className={styles.wide}>
              Flavor
            </th>
            <th scope="col" className={styles.wide}>
              Image
            </th>
            <SortHeader label="Created" sortKey="created" input={input} onSort={onSort} />
            <th scope="col">Actions</th>
          </tr>
        </thead>
        <tbody>
          {servers.map((s) => (
            <tr key={s.id} data-server-id={s.id}>
              <td>
                <input type="checkbox" aria-label={`Select ${s.name}`} checked={selected.has(s.id)} onChange={(e) => onSelect([s.id], e.target.checked)} />
              </td>
              <th scope="row" className={styles.name}>
                <Link href={`/servers/${s.id}`}>{s.name}</Link>
              </th>
              {input.allProjects ? <td>{projectName(s.projectId)}</td> : null}
              <td>
                <StatusCell server={s} />
              </td>
              <td className={`${styles.mono} ${styles.wide}`}>{ips(s).join(', ') || <span className={ui.muted}>none</span>}</td>
              <td className={styles.wide}>{s.flavor.name}</td>
              <td className={styles.wide}>{s.image.name}</td>
              <td>
                <time dateTime={s.created} title={formatDate(s.created)}>
                  {age(s.created, now)}
                </time>
              </td>
              <td>
                <RowActions server={s} onAction={onAction} />
              </td>
            </tr>
          ))}
        </tbody>
      </table>
    </div>
  );
}
