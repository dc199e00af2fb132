/** One moment of the chart: how many servers the project had, and their vCPUs. */
export interface Point {
  t: number;
  instances: number;
  cores: number;
}

export interface Holding {
  vcpus: number;
  created: number;
}

export function totals(holdings: Iterable<Holding>, t: number): Point {
  let instances = 0;
  let cores = 0;
  for (const h of holdings) {
    instances += 1;
    cores += h.vcpus;
  }
  return { t, instances, cores };
}

/**
 * The past rebuilt from the creation times of the servers that exist now: a lower bound, since servers
 * deleted before the page opened left nothing to count. One point at `from`, one per creation after it,
 * and one at `to`.
 */
export function pastSeries(holdings: readonly Holding[], from: number, to: number): Point[] {
  const sorted = [...holdings].sort((a, b) => a.created - b.created);
  const before = sorted.filter((h) => h.created <= from);
  const points = [totals(before, from)];
  let { instances, cores } = points[0]!;
  for (const h of sorted) {
    if (h.created <= from || h.created > to) continue;
    instances += 1;
    cores += h.vcpus;
    points.push({ t: h.created, instances, cores });
  }
  points.push({ t: to, instances, cores });
  return points;
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
