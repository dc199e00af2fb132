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

/** One key's value in a string map column, without building the whole map. */
export function mapGet(v: OvsdbValue | undefined, key: string): string | undefined {
  if (v === undefined || !isMap(v)) return undefined;
  for (const [k, val] of v[1]) if (k === key) return typeof val === 'string' ? val : JSON.stringify(val);
  return undefined;
}

/** The uuid strings of a reference column (set or bare uuid). */
export function uuidsOf(v: OvsdbValue | undefined): string[] {
  return setOf(v).flatMap((a) => (isUuid(a) ? [a[1]] : []));
}

/** An atom as text, distinct across types: `s:x`, `n:1`, `b:true`, `u:<uuid>`, `N:<name>`. */
function atomText(a: Atom): string {
  if (typeof a === 'string') return 's:' + a;
  if (typeof a === 'number') return 'n:' + a;
  if (typeof a === 'boolean') return 'b:' + a;
  return (a[0] === 'uuid' ? 'u:' : 'N:') + a[1];
}

/**
 * A canonical text of a value, for comparing: sets (bare atom or not) become sorted lists, maps sorted pairs, so
 * two values are equal exactly when their texts are.
 */
export function canonical(v: OvsdbValue | undefined): string {
  if (v === undefined) return '';
  if (isMap(v)) return 'm\u0001' + v[1].map(([k, val]) => atomText(k) + '\u0002' + atomText(val)).sort().join('\u0001');
  const atoms = setOf(v);
  if (atoms.length === 1) return atomText(atoms[0]!);
  return atoms.map(atomText).sort().join('\u0001');
}

const atomEq = (x: Atom | undefined, y: Atom | undefined): boolean =>
  x === y || (Array.isArray(x) && Array.isArray(y) && x[0] === y[0] && x[1] === y[1]);

/** Whether two values are equal as OVSDB means it (a bare atom is a set of one; order in sets and maps does not count). */
export function sameValue(a: OvsdbValue | undefined, b: OvsdbValue | undefined): boolean {
  const am = a !== undefined && isMap(a);
  const bm = b !== undefined && isMap(b);
  if (am || bm) {
    const ap = am ? (a as OvsdbMap)[1] : [];
    const bp = bm ? (b as OvsdbMap)[1] : [];
    if ((!am && a !== undefined) || (!bm && b !== undefined)) return false;
    // Keys are unique in a map: same size and every pair found is equality.
    return ap.length === bp.length && ap.every(([k, v]) => bp.some(([k2, v2]) => atomEq(k, k2) && atomEq(v, v2)));
  }
  const as = setOf(a);
  const bs = setOf(b);
  if (as.length !== bs.length) return false;
  if (as.length === 1) return atomEq(as[0], bs[0]);
  if (as.length <= 16) return as.every((x) => bs.some((y) => atomEq(x, y)));
  return canonical(a) === canonical(b);
}
