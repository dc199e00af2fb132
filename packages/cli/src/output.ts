/** Text layouts of the command's answers: aligned tables and field lists; --json prints the API's objects instead. */

/** Columns padded to their widest cell, two spaces apart; the last column is not padded. */
export function table(headers: readonly string[], rows: readonly (readonly string[])[]): string {
  const widths = headers.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)));
  const line = (cells: readonly string[]) =>
    cells
      .map((cell, i) => (i === cells.length - 1 ? cell : cell.padEnd(widths[i] ?? 0)))
      .join('  ')
      .trimEnd();
  return [line(headers), ...rows.map(line)].join('\n');
}

/** One field a line, values aligned; a value of several lines continues under the first. */
export function fields(pairs: readonly (readonly [string, string])[]): string {
  const width = Math.max(0, ...pairs.map(([k]) => k.length));
  return pairs
    .map(([key, value]) => {
      const [first = '', ...rest] = value.split('\n');
      return [`${key.padEnd(width)}  ${first}`.trimEnd(), ...rest.map((l) => `${' '.repeat(width + 2)}${l}`)].join('\n');
    })
    .join('\n');
}

export const json = (value: unknown): string => JSON.stringify(value, null, 2);

/** An empty or missing value shows as a dash, so that columns stay readable. */
export const dash = (value: string | number | null | undefined): string => (value === null || value === undefined || value === '' ? '-' : String(value));

/** 1536 → "1.5 KiB". */
export function bytes(n: number | null | undefined): string {
  if (n === null || n === undefined) return '-';
  const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB'];
  let value = n;
  let unit = 0;
  while (value >= 1024 && unit < units.length - 1) {
    value /= 1024;
    unit += 1;
  }
  return unit === 0 ? `${n} B` : `${value.toFixed(value < 10 ? 1 : 0)} ${units[unit]}`;
}
