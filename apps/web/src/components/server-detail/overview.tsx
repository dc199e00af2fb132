import ui from '@/components/ui/ui.module.css';
import { flavorSize, formatDate } from '@/lib/format';
import { Explanation } from './explanation-view';
import { lockNote } from './lock';
import { ServerGroupLink } from './server-group-link';
import styles from './server-detail.module.css';
import type { Server } from './types';

/** A date of the server's, or a dash for one it has not reached (not launched yet). */
const when = (iso: string | null) => formatDate(iso, '—');

function Addresses({ addresses }: { addresses: Server['addresses'] }) {
  const rows = Object.entries(addresses).flatMap(([network, list]) => list.map((a) => ({ network, ...a })));
  if (!rows.length) return <span className={ui.muted}>No addresses yet</span>;
  return (
    <table className={styles.table} aria-label="Addresses">
      <thead>
        <tr>
          <th scope="col">Network</th>
          <th scope="col">IP</th>
          <th scope="col">MAC</th>
        </tr>
      </thead>
      <tbody>
        {rows.map((a) => (
          <tr key={`${a.portId}-${a.type}`}>
            <td>{a.network}</td>
            <td>
              {a.ip}
              {a.type === 'floating' ? <span className={ui.muted}> (floating)</span> : null}
            </td>
            <td className={styles.mono}>{a.mac}</td>
          </tr>
        ))}
      </tbody>
    </table>
  );
}

function Metadata({ metadata }: { metadata: Record<string, string> }) {
  const entries = Object.entries(metadata);
  if (!entries.length) return <span className={ui.muted}>None</span>;
  return (
    <ul className={styles.plain}>
      {entries.map(([k, v]) => (
        <li key={k}>
          <span className={styles.mono}>{k}</span> = {v}
        </li>
      ))}
    </ul>
  );
}

/** Why a server is in ERROR, as the conductor wrote it, and the scheduler's explanation filter by filter. */
export function FaultNotice({ server }: { server: Server }) {
  if (server.status !== 'ERROR' || !server.fault) return null;
  return (
    <div role="alert" className={`${ui.alert} ${styles.fault}`}>
      <p>
        <strong>{server.name} failed:</strong> {server.fault.message}
      </p>
      {server.fault.explanation ? <Explanation explanation={server.fault.explanation} /> : null}
      <p className={ui.muted}>
        Code {server.fault.code}, {when(server.fault.created)}
      </p>
      {server.fault.details ? (
        <details>
          <summary>Details</summary>
          <pre className={styles.pre}>{server.fault.details}</pre>
        </details>
      ) : null}
    </div>
  );
}

/** Everything the API says of the server; the host only for administrators (the API gives it to no one else). */
export function Overview({ server }: { server: Server }) {
  const { flavor } = server;
  return (
    <>
      <FaultNotice server={server} />
      <dl className={`${ui.facts} ${styles.facts}`}>
        <dt>Status</dt>
        <dd>{server.status}</dd>
        <dt>Power state</dt>
        <dd>{server.powerState}</dd>
        <dt>Addresses</dt>
        <dd>
          <Addresses addresses={server.addresses} />
        </dd>
        <dt>Flavor</dt>
        <dd>
          {flavor.name} ({flavorSize(flavor)})
        </dd>
        <dt>Image</dt>
        <dd>{server.image.name}</dd>
        <dt>Availability zone</dt>
        <dd>{server.availabilityZone ?? <span className={ui.muted}>Any</span>}</dd>
        <dt>Server group</dt>
        <dd>{server.serverGroupId ? <ServerGroupLink id={server.serverGroupId} /> : <span className={ui.muted}>None</span>}</dd>
        <dt>Key pair</dt>
        <dd>{server.keyName ?? <span className={ui.muted}>None</span>}</dd>
        <dt>Metadata</dt>
        <dd>
          <Metadata metadata={server.metadata} />
        </dd>
        <dt>Tags</dt>
        <dd>{server.tags.length ? server.tags.join(', ') : <span className={ui.muted}>None</span>}</dd>
        <dt>Locked</dt>
        <dd data-testid="server-lock">{lockNote(server)}</dd>
        {server.host !== undefined ? (
          <>
            <dt>Host</dt>
            <dd>{server.host ?? <span className={ui.muted}>None</span>}</dd>
          </>
        ) : null}
        <dt>ID</dt>
        <dd className={styles.mono}>{server.id}</dd>
        <dt>Created</dt>
        <dd>{when(server.created)}</dd>
        <dt>Updated</dt>
        <dd>{when(server.updated)}</dd>
        <dt>Launched</dt>
        <dd>{when(server.launchedAt)}</dd>
      </dl>
    </>
  );
}
