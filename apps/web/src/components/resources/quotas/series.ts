/** One moment of the chart: how many servers the project had, and their vCPUs. */
export interface Point {
  t: number;
  instances: number;
  cores: number;
}

/** A server's hold on the quota: from its creation until its deletion (null while it exists), in ms. */
export interface Holding {
  vcpus: number;
  created: number;
  deleted: number | null;
}

const holds = (h: Holding, t: number) => h.created <= t && (h.deleted === null || h.deleted > t);

/** The servers held at `t`, and their vCPUs. */
export function usageAt(holdings: Iterable<Holding>, t: number): Point {
  let instances = 0;
  let cores = 0;
  for (const h of holdings) {
    if (!holds(h, t)) continue;
    instances += 1;
    cores += h.vcpus;
  }
  return { t, instances, cores };
}

/**
 * Usage from `from` to `to` as steps: one point at `from`, one at each creation or deletion between, and one
 * at `to` (the chart ends there, never later). Servers deleted since count for as long as they existed.
 */
export function usageSeries(holdings: readonly Holding[], from: number, to: number): Point[] {
  const moments = new Set<number>();
  for (const h of holdings) {
    for (const t of [h.created, h.deleted]) if (t !== null && t > from && t < to) moments.add(t);
  }
  return [from, ...[...moments].sort((a, b) => a - b), to].map((t) => usageAt(holdings, t));
}

/** An SVG path that holds each value until the next point (counts change in steps, not slopes). */
export function stepPath(points: readonly Point[], x: (t: number) => number, y: (v: number) => number, value: (p: Point) => number): string {
  let d = '';
  points.forEach((p, i) => {
    const px = x(p.t).toFixed(1);
    const py = y(value(p)).toFixed(1);
    if (i === 0) d += `M${px},${py}`;
    else d += `H${px}V${py}`;
  });
  return d;
}
