/**
 * An OVSDB client (RFC 7047, JSON-RPC 1.0) over `unix:/path` or `tcp:host:port`: transactions, monitors that keep
 * an in-memory replica, answers to the server's `echo`, and reconnection with backoff (each live monitor is asked
 * for afresh after a reconnect, and its replica brought to the new contents with change events for what moved).
 */
import net from 'node:net';
import { JsonStreamSplitter } from './jsonstream.ts';
import { isMap, setOf, type Atom, type OvsdbValue, type Row } from './values.ts';

export type Operation = Record<string, unknown> & { op: string; table?: string };
export type Condition = [string, string, OvsdbValue];

/** The server answered the request itself with an error (unknown database, bad method, …). */
export class OvsdbRpcError extends Error {
  constructor(
    readonly method: string,
    readonly error: unknown,
  ) {
    super(`OVSDB ${method} failed: ${typeof error === 'string' ? error : JSON.stringify(error)}`);
    this.name = 'OvsdbRpcError';
  }
}

/** A transaction that was not committed: the failing operation (and its table) or the commit error, with details. */
export class OvsdbTransactionError extends Error {
  constructor(
    message: string,
    readonly db: string,
    readonly results: unknown[],
    readonly failedOp: Operation | null,
  ) {
    super(message);
    this.name = 'OvsdbTransactionError';
  }
}

interface Pending {
  method: string;
  resolve: (v: unknown) => void;
  reject: (e: Error) => void;
}

export interface ClientOptions {
  /** Reconnect after a lost connection (default true), with backoff from 100 ms to `maxBackoffMs` (5 s). */
  reconnect?: boolean;
  maxBackoffMs?: number;
  /** How long a request waits for a connection while reconnecting (default 10 s). */
  connectWaitMs?: number;
  onLog?: (message: string) => void;
}

export type Address = { path: string } | { host: string; port: number };

/** `unix:/path` or `tcp:host:port` (the forms ovn-nbctl's `--db` takes). */
export function parseAddress(address: string): Address {
  if (address.startsWith('unix:')) return { path: address.slice(5) };
  const m = /^tcp:(\[[^\]]+\]|[^:]+):(\d+)$/.exec(address);
  if (m) return { host: m[1]!.replace(/^\[|\]$/g, ''), port: Number(m[2]) };
  throw new Error(`OVSDB address '${address}' is neither unix:<path> nor tcp:<host>:<port>`);
}

export type ChangeListener = (table: string, uuid: string, oldRow: Row | undefined, newRow: Row | undefined) => void;

export interface MonitorTable {
  /** Columns to watch; all when absent. */
  columns?: string[];
  /** monitor_cond only: rows matching these conditions (all of them); all rows when absent. */
  where?: Condition[];
}

interface ColumnKind {
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

function columnKinds(schema: unknown): Map<string, Map<string, ColumnKind>> {
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

export class OvsdbClient {
  private socket: net.Socket | null = null;
  private readonly splitter = new JsonStreamSplitter();
  private nextId = 1;
  private readonly pending = new Map<number, Pending>();
  private closing = false;
  private backoff = 100;
  private reconnectTimer: NodeJS.Timeout | null = null;
  private waiters: { resolve: () => void; reject: (e: Error) => void }[] = [];
  private readonly schemas = new Map<string, Promise<Map<string, Map<string, ColumnKind>>>>();
  /** @internal */ readonly replicas = new Set<Replica>();
  private monitorSeq = 0;
  connected = false;
  /** Times the connection was made again after a loss. */
  reconnects = 0;

  private constructor(
    readonly address: string,
    private readonly opts: Required<Omit<ClientOptions, 'onLog'>> & Pick<ClientOptions, 'onLog'>,
  ) {}

  /** Connects (the first attempt must succeed; later losses are retried while `reconnect` is on). */
  static async connect(address: string, options: ClientOptions = {}): Promise<OvsdbClient> {
    const client = new OvsdbClient(address, {
      reconnect: options.reconnect ?? true,
      maxBackoffMs: options.maxBackoffMs ?? 5000,
      connectWaitMs: options.connectWaitMs ?? 10_000,
      onLog: options.onLog,
    });
    await client.open();
    return client;
  }

  private open(): Promise<void> {
    const addr = parseAddress(this.address);
    return new Promise((resolve, reject) => {
      const socket = 'path' in addr ? net.createConnection(addr.path) : net.createConnection(addr.port, addr.host);
      socket.setEncoding('utf8');
      let opened = false;
      socket.once('connect', () => {
        opened = true;
        this.socket = socket;
        this.connected = true;
        this.splitter.reset();
        this.backoff = 100;
        resolve();
        for (const w of this.waiters.splice(0)) w.resolve();
      });
      socket.on('data', (chunk: string) => this.onData(chunk));
      socket.on('error', (err) => {
        if (!opened) reject(new Error(`OVSDB: cannot connect to ${this.address}: ${err.message}`));
      });
      socket.on('close', () => {
        if (opened) this.onLost();
      });
    });
  }

  private onLost(): void {
    this.socket = null;
    this.connected = false;
    for (const p of this.pending.values()) p.reject(new Error(`OVSDB connection to ${this.address} lost during ${p.method}`));
    this.pending.clear();
    if (this.closing || !this.opts.reconnect) {
      for (const w of this.waiters.splice(0)) w.reject(new Error(`OVSDB client for ${this.address} is closed`));
      return;
    }
    this.opts.onLog?.(`OVSDB connection to ${this.address} lost; reconnecting`);
    this.scheduleReconnect();
  }

  private scheduleReconnect(): void {
    const delay = this.backoff;
    this.backoff = Math.min(this.backoff * 2, this.opts.maxBackoffMs);
    this.reconnectTimer = setTimeout(() => {
      this.reconnectTimer = null;
      if (this.closing) return;
      this.open().then(
        () => {
          this.reconnects++;
          this.opts.onLog?.(`OVSDB reconnected to ${this.address}`);
          for (const r of this.replicas) void this.startMonitor(r).catch((e: Error) => this.opts.onLog?.(e.message));
        },
        () => this.scheduleReconnect(),
      );
    }, delay);
  }

  private whenConnected(): Promise<void> {
    if (this.connected) return Promise.resolve();
    if (this.closing) return Promise.reject(new Error(`OVSDB client for ${this.address} is closed`));
    return new Promise((resolve, reject) => {
      const w = { resolve: () => (clearTimeout(t), resolve()), reject: (e: Error) => (clearTimeout(t), reject(e)) };
      const t = setTimeout(() => {
        this.waiters = this.waiters.filter((x) => x !== w);
        reject(new Error(`OVSDB: not connected to ${this.address} after ${this.opts.connectWaitMs} ms`));
      }, this.opts.connectWaitMs);
      this.waiters.push(w);
    });
  }

  private send(msg: unknown): void {
    this.socket?.write(JSON.stringify(msg));
  }

  private onData(chunk: string): void {
    let messages: unknown[];
    try {
      messages = this.splitter.push(chunk);
    } catch (e) {
      this.opts.onLog?.(`${(e as Error).message}; dropping the connection`);
      this.socket?.destroy();
      return;
    }
    for (const m of messages) this.onMessage(m as { id?: unknown; method?: string; params?: unknown[]; result?: unknown; error?: unknown });
  }

  private onMessage(m: { id?: unknown; method?: string; params?: unknown[]; result?: unknown; error?: unknown }): void {
    if (m.method !== undefined) {
      if (m.method === 'echo' && m.id !== null && m.id !== undefined) {
        this.send({ id: m.id, result: m.params ?? [], error: null });
      } else if (m.method === 'update' || m.method === 'update2') {
        const [mid, updates] = m.params ?? [];
        for (const r of this.replicas) {
          if (r.monitorId !== mid) continue;
          if (m.method === 'update') r.applyUpdate(updates as never);
          else r.applyUpdate2(updates as never);
        }
      }
      return;
    }
    if (typeof m.id !== 'number') return;
    const p = this.pending.get(m.id);
    if (!p) return;
    this.pending.delete(m.id);
    if (m.error !== null && m.error !== undefined) p.reject(new OvsdbRpcError(p.method, m.error));
    else p.resolve(m.result);
  }

  /** One JSON-RPC request; resolves with its result, rejects with OvsdbRpcError on the server's error. */
  async request(method: string, params: unknown[]): Promise<unknown> {
    await this.whenConnected();
    const id = this.nextId++;
    return new Promise((resolve, reject) => {
      this.pending.set(id, { method, resolve, reject });
      this.send({ id, method, params });
    });
  }

  /**
   * Runs operations as one transaction. Resolves with their results when committed; otherwise throws an
   * OvsdbTransactionError naming the operation and table that failed (or the commit's error) with its details.
   */
  async transact(db: string, ops: Operation[]): Promise<unknown[]> {
    const results = (await this.request('transact', [db, ...ops])) as ({ error?: string; details?: string } | null)[];
    const failedAt = results.findIndex((r) => r !== null && typeof r === 'object' && typeof r.error === 'string');
    if (failedAt >= 0) {
      const r = results[failedAt]!;
      const op = ops[failedAt] ?? null;
      const where = op ? `operation ${failedAt + 1} (${op.op}${op.table ? ` on ${op.table}` : ''})` : 'commit';
      throw new OvsdbTransactionError(
        `OVSDB transaction on ${db} failed at ${where}: ${r.error}${r.details ? `: ${r.details}` : ''}`,
        db,
        results,
        op,
      );
    }
    return results;
  }

  /**
   * A round trip to the server: when it resolves, every update the server had for this client's monitors before
   * (including those of transactions others committed before this call) has been applied to the replicas.
   */
  async sync(): Promise<void> {
    await this.request('echo', ['sync']);
  }

  private schemaKinds(db: string): Promise<Map<string, Map<string, ColumnKind>>> {
    let s = this.schemas.get(db);
    if (!s) {
      s = this.request('get_schema', [db]).then(columnKinds);
      s.catch(() => this.schemas.delete(db));
      this.schemas.set(db, s);
    }
    return s;
  }

  /**
   * Monitors tables (all rows, or with `where` through monitor_cond) and resolves with a replica holding their
   * current contents, kept up to date — across reconnects too.
   */
  async monitor(db: string, tables: Record<string, MonitorTable>, method?: 'monitor' | 'monitor_cond'): Promise<Replica> {
    const m = method ?? (Object.values(tables).some((t) => t.where) ? 'monitor_cond' : 'monitor');
    const kinds = await this.schemaKinds(db);
    const replica = new Replica(this, db, tables, m, kinds);
    await this.startMonitor(replica);
    this.replicas.add(replica);
    return replica;
  }

  private async startMonitor(r: Replica): Promise<void> {
    r.monitorId = `aster-${++this.monitorSeq}`;
    const requests: Record<string, { columns?: string[]; where?: Condition[] }> = {};
    for (const [t, spec] of Object.entries(r.spec)) {
      requests[t] = { ...(spec.columns ? { columns: spec.columns } : {}), ...(r.method === 'monitor_cond' && spec.where ? { where: spec.where } : {}) };
    }
    const initial = await this.request(r.method, [r.db, r.monitorId, requests]);
    r.replaceAll(initial);
  }

  /** Closes the connection for good: no reconnect, pending requests rejected. */
  close(): void {
    this.closing = true;
    if (this.reconnectTimer) clearTimeout(this.reconnectTimer);
    this.replicas.clear();
    this.socket?.destroy();
    if (!this.socket) for (const w of this.waiters.splice(0)) w.reject(new Error(`OVSDB client for ${this.address} is closed`));
  }
}

