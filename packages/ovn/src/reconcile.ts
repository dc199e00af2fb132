/**
 * Makes NB match the desired rows: compares a monitored replica's rows tagged with this cloud to the desired ones,
 * in memory, and (in `repair` mode) writes the difference as one transaction. Only rows carrying this cloud's
 * `external_ids:aster-cloud` are ever changed or deleted; another cloud's rows and untagged rows are left alone.
 */
import { NAMED_TABLES, PARENT_COLUMNS, type DesiredNb, type DesiredRow, type NbTable } from './desired.ts';
import type { Operation, OvsdbClient, Replica } from './ovsdb.ts';
import { canonical, mapOf, namedUuid, set, uuid, uuidsOf, type Atom, type NamedUuid, type Row, type Uuid } from './values.ts';

export const NB_DB = 'OVN_Northbound';

/** Inserted in this order, so that a row refers only to rows inserted before it. */
const TABLES: NbTable[] = [
  'DHCP_Options',
  'Gateway_Chassis',
  'ACL',
  'NAT',
  'Logical_Router_Static_Route',
  'Logical_Switch_Port',
  'Logical_Router_Port',
  'Logical_Switch',
  'Logical_Router',
  'Port_Group',
];

const LABELS: Record<NbTable, string> = {
  Logical_Switch: 'logical switch',
  Logical_Switch_Port: 'logical switch port',
  Logical_Router: 'logical router',
  Logical_Router_Port: 'logical router port',
  Logical_Router_Static_Route: 'static route',
  NAT: 'NAT rule',
  Gateway_Chassis: 'gateway chassis',
  Port_Group: 'port group',
  ACL: 'ACL',
  DHCP_Options: 'DHCP options',
};

export interface Difference {
  kind: 'missing' | 'changed' | 'unknown' | 'duplicate' | 'moved';
  table: NbTable;
  key: string;
  /** For `changed`: the columns that differed. */
  columns?: string[];
  /** In words: "logical switch port 5f0c… missing: created". */
  text: string;
}

export interface ReconcileReport {
  mode: 'repair' | 'log';
  differences: Difference[];
  /** Operations in the transaction written (repair) or that would have been (log). */
  operations: number;
  written: boolean;
  ms: number;
}

const replicas = new WeakMap<OvsdbClient, Promise<Replica>>();

/** The NB replica the reconcile works from: one monitor per client, set up on first use, kept current after. */
export function nbReplica(client: OvsdbClient): Promise<Replica> {
  let r = replicas.get(client);
  if (!r) {
    r = client.monitor(NB_DB, Object.fromEntries(TABLES.map((t) => [t, {}])));
    r.catch(() => replicas.delete(client));
    replicas.set(client, r);
  }
  return r;
}

const rowKey = (table: NbTable, row: Row): string | undefined =>
  NAMED_TABLES.has(table) ? (typeof row.name === 'string' ? row.name : undefined) : mapOf(row.external_ids)['aster-key'];

const id = (table: string, key: string) => `${table}\u0000${key}`;

export async function reconcile(
  client: OvsdbClient,
  desired: DesiredNb,
  opts: { cloudId: string; mode: 'repair' | 'log' },
): Promise<ReconcileReport> {
  const started = performance.now();
  const replica = await nbReplica(client);
  await client.sync();
  const repair = opts.mode === 'repair';
  const differences: Difference[] = [];
  const say = (d: Omit<Difference, 'text'>, problem: string, fix: string, wouldFix: string) =>
    differences.push({ ...d, text: `${problem}: ${repair ? fix : wouldFix}` });

  // This cloud's rows, by key; the duplicates of a key are unwanted.
  const ours = new Map<string, { uuid: string; row: Row }>();
  const unwanted: { table: NbTable; uuid: string; row: Row; why: 'unknown' | 'duplicate' | 'moved' }[] = [];
  for (const table of TABLES) {
    for (const [u, row] of replica.rows(table)) {
      if (mapOf(row.external_ids)['aster-cloud'] !== opts.cloudId) continue;
      const key = rowKey(table, row);
      if (key === undefined || ours.has(id(table, key))) unwanted.push({ table, uuid: u, row, why: key === undefined ? 'unknown' : 'duplicate' });
      else ours.set(id(table, key), { uuid: u, row });
    }
  }
  // Which parent holds each non-root row (any parent: a foreign one may hold a row of ours).
  const parentOf = new Map<string, { table: NbTable; uuid: string; column: string }>();
  for (const { parent, column } of PARENT_COLUMNS) {
    for (const [u, row] of replica.rows(parent)) for (const c of uuidsOf(row[column])) parentOf.set(c, { table: parent, uuid: u, column });
  }

  // Pass 1: which desired rows exist (under the right parent) and which are to be inserted.
  const resolved = new Map<string, Uuid | NamedUuid>();
  const inserts: DesiredRow[] = [];
  const kept: { d: DesiredRow; uuid: string; row: Row }[] = [];
  const keep = new Set<string>();
  let n = 0;
  const nameOf = new Map<DesiredRow, string>();
  const byTable = [...desired.rows].sort((a, b) => TABLES.indexOf(b.table) - TABLES.indexOf(a.table));
  // Parents first (reverse insertion order), so a child can tell whether its parent is kept.
  for (const d of byTable) {
    const have = ours.get(id(d.table, d.key));
    let ok = have !== undefined;
    if (have && d.parent) {
      const p = parentOf.get(have.uuid);
      const want = resolved.get(id(d.parent.table, d.parent.key));
      ok = p !== undefined && want !== undefined && want[0] === 'uuid' && p.uuid === want[1] && p.column === d.parent.column;
      if (!ok) unwanted.push({ table: d.table, uuid: have.uuid, row: have.row, why: 'moved' });
    }
    if (have && ok) {
      resolved.set(id(d.table, d.key), uuid(have.uuid));
      kept.push({ d, uuid: have.uuid, row: have.row });
      keep.add(have.uuid);
    } else {
      const name = `row${++n}`;
      nameOf.set(d, name);
      resolved.set(id(d.table, d.key), namedUuid(name));
      inserts.push(d);
      if (!have) say({ kind: 'missing', table: d.table, key: d.key }, `${d.what} missing`, 'created', 'would be created');
      else say({ kind: 'moved', table: d.table, key: d.key }, `${d.what} under another parent`, 'recreated', 'would be recreated');
    }
  }
  const already = new Set(unwanted.map((u) => u.uuid));
  for (const [k, v] of ours) {
    if (!keep.has(v.uuid) && !already.has(v.uuid)) {
      const table = k.split('\u0000')[0] as NbTable;
      unwanted.push({ table, uuid: v.uuid, row: v.row, why: 'unknown' });
    }
  }
  const refValue = (r: { table: NbTable; keys: string[] }) =>
    set(r.keys.flatMap((k) => (resolved.has(id(r.table, k)) ? [resolved.get(id(r.table, k))!] : [])));

  const insertOps: Operation[] = [];
  const updateOps: Operation[] = [];
  const deleteOps: Operation[] = [];
  const mutations = new Map<string, { table: NbTable; uuid: string; muts: Map<string, { insert: Atom[]; delete: Atom[] }> }>();
  const mutate = (table: NbTable, parentUuid: string, column: string, kind: 'insert' | 'delete', child: Atom) => {
    let m = mutations.get(parentUuid);
    if (!m) mutations.set(parentUuid, (m = { table, uuid: parentUuid, muts: new Map() }));
    let c = m.muts.get(column);
    if (!c) m.muts.set(column, (c = { insert: [], delete: [] }));
    c[kind].push(child);
  };

  // Inserts: children go into an inserted parent's row, or are added to an existing parent's column.
  const insertRows = new Map<string, Record<string, unknown>>();
  for (const d of inserts) {
    const row: Record<string, unknown> = { ...d.columns };
    for (const [col, r] of Object.entries(d.refs ?? {})) row[col] = refValue(r);
    insertRows.set(id(d.table, d.key), row);
  }
  for (const d of inserts) {
    if (!d.parent) continue;
    const p = resolved.get(id(d.parent.table, d.parent.key));
    const me = resolved.get(id(d.table, d.key))!;
    if (p === undefined) continue; // no such parent wanted or present: the row cannot exist
    if (p[0] === 'uuid') mutate(d.parent.table, p[1], d.parent.column, 'insert', me);
    else {
      const prow = insertRows.get(id(d.parent.table, d.parent.key))!;
      const cur = (prow[d.parent.column] as ['set', Atom[]] | undefined)?.[1] ?? [];
      prow[d.parent.column] = set([...cur, me]);
    }
  }
  for (const table of TABLES) {
    for (const d of inserts) {
      if (d.table !== table) continue;
      if (d.parent && !resolved.has(id(d.parent.table, d.parent.key))) continue;
      insertOps.push({ op: 'insert', table, row: insertRows.get(id(d.table, d.key))!, 'uuid-name': nameOf.get(d)! });
    }
  }

  // Updates: the columns that differ.
  for (const { d, uuid: u, row } of kept) {
    const changed: Record<string, unknown> = {};
    for (const [col, v] of Object.entries(d.columns)) if (canonical(v) !== canonical(row[col])) changed[col] = v;
    for (const [col, r] of Object.entries(d.refs ?? {})) {
      const v = refValue(r);
      if (v[1].some((a) => Array.isArray(a) && a[0] === 'named-uuid') || canonical(v) !== canonical(row[col])) changed[col] = v;
    }
    const cols = Object.keys(changed);
    if (!cols.length) continue;
    updateOps.push({ op: 'update', table: d.table, where: [['_uuid', '==', uuid(u)]], row: changed });
    say({ kind: 'changed', table: d.table, key: d.key, columns: cols }, `${d.what} differs in ${cols.join(', ')}`, 'updated', 'would be updated');
  }

  // Deletes: root rows by uuid; non-root rows by removing them from their parent (unless the parent goes too).
  const gone = new Set(unwanted.map((u) => u.uuid));
  for (const u of unwanted) {
    const key = rowKey(u.table, u.row);
    const p = parentOf.get(u.uuid);
    const where = p ? ` on ${describeParent(replica, p)}` : '';
    const what = `${LABELS[u.table]} ${key ?? u.uuid.slice(0, 8) + '…'}${u.table === 'ACL' && !key ? ` (${String(u.row.match)})` : ''}${where}`;
    if (u.why !== 'moved') {
      const problem = u.why === 'duplicate' ? `${what} is a duplicate` : `${what} not known`;
      say({ kind: u.why, table: u.table, key: key ?? u.uuid }, problem, 'deleted', 'would be deleted');
    }
    if (!PARENT_COLUMNS.some((pc) => pc.child === u.table)) deleteOps.push({ op: 'delete', table: u.table, where: [['_uuid', '==', uuid(u.uuid)]] });
    else if (p && !gone.has(p.uuid)) mutate(p.table, p.uuid, p.column, 'delete', uuid(u.uuid));
  }

  const mutateOps: Operation[] = [...mutations.values()].map((m) => ({
    op: 'mutate',
    table: m.table,
    where: [['_uuid', '==', uuid(m.uuid)]],
    mutations: [...m.muts].flatMap(([col, c]) => [
      ...(c.delete.length ? [[col, 'delete', set(c.delete)]] : []),
      ...(c.insert.length ? [[col, 'insert', set(c.insert)]] : []),
    ]),
  }));
  const ops = [...insertOps, ...updateOps, ...mutateOps, ...deleteOps];
  let written = false;
  if (repair && ops.length) {
    await client.transact(NB_DB, ops);
    written = true;
  }
  return { mode: opts.mode, differences, operations: ops.length, written, ms: performance.now() - started };
}

function describeParent(replica: Replica, p: { table: NbTable; uuid: string }): string {
  const row = replica.rows(p.table).get(p.uuid);
  return typeof row?.name === 'string' ? row.name : `${LABELS[p.table]} ${p.uuid.slice(0, 8)}…`;
}
