/**
 * A monitored copy of OVSDB tables, kept current by the server's `update` (monitor) or `update2` (monitor_cond)
 * notifications; its client asks for it afresh after a reconnect.
 */
import type { OvsdbClient } from './ovsdb.ts';
import { isMap, setOf, type Atom, type OvsdbValue, type Row } from './values.ts';

export type Condition = [string, string, OvsdbValue];

export type ChangeListener = (table: string, uuid: string, oldRow: Row | undefined, newRow: Row | undefined) => void;

export interface MonitorTable {
  /** Columns to watch; all when absent. */
  columns?: string[];
  /** monitor_cond only: rows matching these conditions (all of them); all rows when absent. */
  where?: Condition[];
}

export interface ColumnKind {
  kind: 'scalar' | 'set' | 'map';
}

/** A monitored copy of some tables: rows by uuid, kept current by the server's update notifications. */
export class Replica {
  readonly tables = new Map<string, Map<string, Row>>();
  private readonly listeners = new Set<ChangeListener>();
  /** @internal */ monitorId = '';
  /** @internal */ closed = false;

  constructor(
    /** @internal */ readonly client: OvsdbClient,
    readonly db: string,
    readonly spec: Record<string, MonitorTable>,
    readonly method: 'monitor' | 'monitor_cond',
    /** @internal */ readonly kinds: Map<string, Map<string, ColumnKind>>,
  ) {
    for (const t of Object.keys(spec)) this.tables.set(t, new Map());
  }

  /** The rows of a table (an empty map for a table not monitored). */
  rows(table: string): Map<string, Row> {
    return this.tables.get(table) ?? new Map();
  }

  /** Calls `listener` for every row inserted, changed or deleted from now on; returns the way to stop. */
  onChange(listener: ChangeListener): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  /** Stops the monitor on the server (if connected) and forgets the rows. */
  async cancel(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    this.client.replicas.delete(this);
    if (this.client.connected) await this.client.request('monitor_cancel', [this.monitorId]).catch(() => undefined);
  }

  private emit(table: string, uuid: string, oldRow: Row | undefined, newRow: Row | undefined): void {
    for (const l of this.listeners) l(table, uuid, oldRow, newRow);
  }

  /** @internal The answer to a (re)issued monitor: the complete contents; change events for what differs. */
  replaceAll(updates: unknown): void {
    const fresh = new Map<string, Map<string, Row>>();
    for (const t of Object.keys(this.spec)) fresh.set(t, new Map());
    const tu = (updates ?? {}) as Record<string, Record<string, Record<string, Row | undefined>>>;
    for (const [table, rows] of Object.entries(tu)) {
      const target = fresh.get(table) ?? new Map<string, Row>();
      fresh.set(table, target);
      for (const [id, u] of Object.entries(rows)) {
        const row = this.method === 'monitor' ? u.new : (u.initial ?? u.insert);
        if (row) target.set(id, { ...row });
      }
    }
    for (const [table, newRows] of fresh) {
      const oldRows = this.tables.get(table) ?? new Map<string, Row>();
      this.tables.set(table, newRows);
      for (const [id, row] of newRows) {
        const old = oldRows.get(id);
        if (!old || JSON.stringify(old) !== JSON.stringify(row)) this.emit(table, id, old, row);
      }
      for (const [id, old] of oldRows) if (!newRows.has(id)) this.emit(table, id, old, undefined);
    }
  }

  /** @internal An `update` (monitor) notification: full new rows. */
  applyUpdate(updates: Record<string, Record<string, { old?: Row; new?: Row }>>): void {
    for (const [table, rows] of Object.entries(updates)) {
      const target = this.tables.get(table);
      if (!target) continue;
      for (const [id, u] of Object.entries(rows)) {
        const old = target.get(id);
        if (u.new) {
          const row = { ...old, ...u.new };
          target.set(id, row);
          this.emit(table, id, old, row);
        } else {
          target.delete(id);
          this.emit(table, id, old, undefined);
        }
      }
    }
  }

  /** @internal An `update2` (monitor_cond) notification: inserts, deletes and modifications as differences. */
  applyUpdate2(updates: Record<string, Record<string, Record<string, Row | null>>>): void {
    for (const [table, rows] of Object.entries(updates)) {
      const target = this.tables.get(table);
      if (!target) continue;
      const kinds = this.kinds.get(table);
      for (const [id, u] of Object.entries(rows)) {
        const old = target.get(id);
        if (u.initial || u.insert) {
          const row = { ...(u.initial ?? u.insert)! };
          target.set(id, row);
          this.emit(table, id, old, row);
        } else if ('delete' in u) {
          target.delete(id);
          this.emit(table, id, old, undefined);
        } else if (u.modify) {
          const row: Row = { ...old };
          for (const [col, diff] of Object.entries(u.modify)) {
            row[col] = applyDiff(kinds?.get(col)?.kind ?? 'scalar', row[col], diff);
          }
          target.set(id, row);
          this.emit(table, id, old, row);
        }
      }
    }
  }
}

/** update2's "modify": a set's elements toggle, a map's pairs insert/replace/delete, a column of at most one value is replaced. */
function applyDiff(kind: ColumnKind['kind'], current: OvsdbValue | undefined, diff: OvsdbValue): OvsdbValue {
  if (kind === 'scalar') return diff;
  if (kind === 'set') {
    const now = setOf(current);
    const keyOf = (a: Atom) => JSON.stringify(a);
    const have = new Map(now.map((a) => [keyOf(a), a]));
    for (const a of setOf(diff)) {
      const k = keyOf(a);
      if (have.has(k)) have.delete(k);
      else have.set(k, a);
    }
    return ['set', [...have.values()]];
  }
  const pairs = new Map<string, [Atom, Atom]>();
  if (current !== undefined && isMap(current)) for (const p of current[1]) pairs.set(JSON.stringify(p[0]), p);
  if (isMap(diff)) {
    for (const [k, v] of diff[1]) {
      const key = JSON.stringify(k);
      const had = pairs.get(key);
      if (had && JSON.stringify(had[1]) === JSON.stringify(v)) pairs.delete(key);
      else pairs.set(key, [k, v]);
    }
  }
  return ['map', [...pairs.values()]];
}

export function columnKinds(schema: unknown): Map<string, Map<string, ColumnKind>> {
  const out = new Map<string, Map<string, ColumnKind>>();
  const tables = (schema as { tables?: Record<string, { columns: Record<string, { type: unknown }> }> }).tables ?? {};
  for (const [t, def] of Object.entries(tables)) {
    const cols = new Map<string, ColumnKind>();
    for (const [c, { type }] of Object.entries(def.columns)) {
      if (typeof type === 'string') {
        cols.set(c, { kind: 'scalar' });
        continue;
      }
      const ty = type as { value?: unknown; min?: number; max?: number | 'unlimited' };
      // ovsdb-server sends a column of at most one value (optional ones too) whole, not as a difference.
      const max = ty.max ?? 1;
      cols.set(c, { kind: ty.value !== undefined ? 'map' : max === 1 ? 'scalar' : 'set' });
    }
    out.set(t, cols);
  }
  return out;
}

