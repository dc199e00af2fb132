/**
 * Watches `Logical_Switch_Port.up` for one cloud's ports (northd sets it once a chassis binds the port), through a
 * monitor_cond on `external_ids:aster-cloud`, which survives reconnects.
 */
import type { OvsdbClient, Replica } from './ovsdb.ts';
import { map, mapOf, optional, type Row } from './values.ts';
import { NB_DB } from './reconcile.ts';

export interface PortUpWatch {
  /** Every watched port's last known state, by port id. */
  current(): Map<string, boolean>;
  close(): Promise<void>;
}

const portIdOf = (row: Row): string | undefined => mapOf(row.external_ids)['aster-port-id'] ?? (typeof row.name === 'string' ? row.name : undefined);
const isUp = (row: Row): boolean => optional(row.up) === true;

/**
 * Calls `onChange(portId, up)` for each of the cloud's ports as first seen (ports already there when the watch
 * starts included) and on each change of its `up` after. A port's deletion is not reported.
 */
export async function watchPortsUp(
  client: OvsdbClient,
  opts: { cloudId: string; onChange: (portId: string, up: boolean) => void },
): Promise<PortUpWatch> {
  const known = new Map<string, boolean>();
  const seen = (row: Row | undefined) => {
    if (!row) return;
    const id = portIdOf(row);
    if (id === undefined) return;
    const up = isUp(row);
    if (known.get(id) === up) return;
    known.set(id, up);
    opts.onChange(id, up);
  };
  const replica: Replica = await client.monitor(NB_DB, {
    Logical_Switch_Port: { columns: ['name', 'up', 'external_ids'], where: [['external_ids', 'includes', map({ 'aster-cloud': opts.cloudId })]] },
  });
  const stop = replica.onChange((_t, _u, _old, row) => seen(row));
  for (const row of replica.rows('Logical_Switch_Port').values()) seen(row);
  return {
    current: () => new Map(known),
    close: async () => {
      stop();
      await replica.cancel();
    },
  };
}
