/**
 * OVSDB's JSON values (RFC 7047 §5.1) and helpers both ways. On the wire a set of one element may be the bare atom,
 * and an optional column (min 0, max 1) that is empty is `["set", []]`.
 */

export type Uuid = ['uuid', string];
export type NamedUuid = ['named-uuid', string];
export type Atom = string | number | boolean | Uuid | NamedUuid;
export type OvsdbSet = ['set', Atom[]];
export type OvsdbMap = ['map', [Atom, Atom][]];
export type OvsdbValue = Atom | OvsdbSet | OvsdbMap;
/** A row as the server sends it (`_uuid` excepted): column name → value. */
export type Row = Record<string, OvsdbValue>;

export const uuid = (id: string): Uuid => ['uuid', id];
export const namedUuid = (name: string): NamedUuid => ['named-uuid', name];
export const set = (atoms: readonly Atom[]): OvsdbSet => ['set', [...atoms]];
/** A map from an object or [key, value] pairs. */
export function map(entries: Record<string, Atom> | readonly (readonly [Atom, Atom])[]): OvsdbMap {
  const pairs = Array.isArray(entries) ? entries : Object.entries(entries);
  return ['map', pairs.map(([k, v]) => [k, v] as [Atom, Atom])];
}

const isTagged = (v: unknown, tag: string): boolean => Array.isArray(v) && v.length === 2 && v[0] === tag;
export const isUuid = (v: unknown): v is Uuid => isTagged(v, 'uuid');
export const isSet = (v: unknown): v is OvsdbSet => isTagged(v, 'set');
export const isMap = (v: unknown): v is OvsdbMap => isTagged(v, 'map');

/** A set column's atoms, whether sent as a set or as a bare atom. */
export function setOf(v: OvsdbValue | undefined): Atom[] {
  if (v === undefined) return [];
  if (isSet(v)) return v[1];
  if (isMap(v)) throw new Error('OVSDB value is a map, not a set');
  return [v];
}

/** An optional scalar column: its one value, or undefined when the set is empty. */
export function optional(v: OvsdbValue | undefined): Atom | undefined {
  return setOf(v)[0];
}

/** A string→string map column as an object. */
export function mapOf(v: OvsdbValue | undefined): Record<string, string> {
  const out: Record<string, string> = {};
  if (v === undefined) return out;
  if (!isMap(v)) throw new Error('OVSDB value is not a map');
  for (const [k, val] of v[1]) out[String(k)] = typeof val === 'string' ? val : JSON.stringify(val);
  return out;
}

/** The uuid strings of a reference column (set or bare uuid). */
export function uuidsOf(v: OvsdbValue | undefined): string[] {
  return setOf(v).flatMap((a) => (isUuid(a) ? [a[1]] : []));
}

/**
 * A canonical text of a value, for comparing: sets (bare atom or not) become sorted lists, maps sorted pairs, so
 * two values are equal exactly when their texts are.
 */
export function canonical(v: OvsdbValue | undefined): string {
  if (v === undefined) return '[]';
  if (isMap(v)) return 'm' + JSON.stringify(v[1].map((p) => JSON.stringify(p)).sort());
  return JSON.stringify(setOf(v).map((a) => JSON.stringify(a)).sort());
}
