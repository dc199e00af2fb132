'use client';

import { useQuery } from '@tanstack/react-query';
import { describeApiError } from '@/lib/api-error';
import { formatDate } from '@/lib/format';
import { useTRPC } from '@/lib/trpc';
import { useWhoami } from '@/lib/whoami';
import ui from '@/components/ui/ui.module.css';
import styles from './server-detail.module.css';
import type { InstanceAction } from './types';

function result(action: InstanceAction): string {
  if (action.events.some((e) => e.result === 'Error')) return 'Error';
  return action.finishedAt ? 'Success' : 'In progress';
}

/** servers.actions, newest first: who asked for what, when, and how each step ended. */
export function ActionLog({ id }: { id: string }) {
  const trpc = useTRPC();
  const whoami = useWhoami();
  const actions = useQuery(trpc.servers.actions.queryOptions({ id }));
  if (actions.error) {
    return (
      <p role="alert" className={ui.alert}>
        {describeApiError(actions.error)}
      </p>
    );
  }
  if (!actions.data) return <p className={ui.muted}>Reading the action log…</p>;
  const newestFirst = [...actions.data].sort((a, b) => (a.startedAt < b.startedAt ? 1 : a.startedAt > b.startedAt ? -1 : 0));
  if (!newestFirst.length) return <p className={ui.muted}>No actions yet.</p>;
  return (
    <ol className={styles.actions} aria-label="Actions">
      {newestFirst.map((a) => {
        const who = a.userId === whoami.user.id ? `${whoami.user.name} (you)` : (a.userId ?? 'the system');
        const outcome = result(a);
        return (
          <li key={a.id} className={styles.action}>
            <p className={styles.actionHead}>
              <strong>{a.action}</strong>
              <span className={outcome === 'Error' ? styles.bad : outcome === 'Success' ? styles.ok : styles.idle}>{outcome}</span>
            </p>
            <p className={ui.muted}>
              by {who}, {formatDate(a.startedAt)}
              {a.finishedAt ? `, finished ${formatDate(a.finishedAt)}` : ''}
            </p>
            {a.message ? <p>{a.message}</p> : null}
            {a.events.length ? (
              <table className={styles.table} aria-label={`Events of ${a.action}`}>
                <thead>
                  <tr>
                    <th scope="col">Event</th>
                    <th scope="col">Result</th>
                    <th scope="col">Details</th>
                  </tr>
                </thead>
                <tbody>
                  {a.events.map((e, i) => (
                    <tr key={`${e.event}-${i}`}>
                      <td className={styles.mono}>{e.event}</td>
                      <td>{e.result ?? (e.finishedAt || a.finishedAt ? '—' : 'In progress')}</td>
                      <td>
                        {e.details ?? ''}
                        {e.host ? <span className={ui.muted}> (host {e.host})</span> : null}
                      </td>
                    </tr>
                  ))}
                </tbody>
              </table>
            ) : null}
          </li>
        );
      })}
    </ol>
  );
}
