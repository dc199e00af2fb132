/**
 * How the app writes dates and amounts, one way on every page. Dates and times are in UTC, as the API and
 * the logs give them (and so the server's render and the browser's agree). Sizes are in binary units, as the
 * API counts them: a flavor's `ramMb` is MiB and its `diskGb` GiB, as in Nova and libvirt.
 */

const dateTime = new Intl.DateTimeFormat('en-GB', { dateStyle: 'medium', timeStyle: 'medium', timeZone: 'UTC' });
const timeOfDay = new Intl.DateTimeFormat('en-GB', { hour: '2-digit', minute: '2-digit', timeZone: 'UTC' });

/** "7 Dec 2026, 22:18:05 UTC"; `never` for no date. */
export function formatDate(iso: string | null, never = 'never'): string {
  return iso ? `${dateTime.format(new Date(iso))} UTC` : never;
}

/** "22:18 UTC": a moment of today, for a chart's axis. */
export function formatTime(ms: number): string {
  return `${timeOfDay.format(new Date(ms))} UTC`;
}

/** "4.0 MiB": bytes in binary units. */
export function formatBytes(bytes: number | null): string {
  if (bytes === null) return '—';
  const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB'];
  let value = bytes;
  let unit = 0;
  while (value >= 1024 && unit < units.length - 1) {
    value /= 1024;
    unit += 1;
  }
  return `${unit === 0 ? value : value.toFixed(1)} ${units[unit]}`;
}

/** Memory given in MiB: "512 MiB", "2 GiB" (whole GiB only, so no amount is rounded). */
export function formatMiB(mib: number): string {
  return mib >= 1024 && mib % 1024 === 0 ? `${mib / 1024} GiB` : `${mib} MiB`;
}

/** Disk given in GiB: "20 GiB". */
export function formatGiB(gib: number): string {
  return `${gib} GiB`;
}

/** "1 vCPU, 512 MiB RAM, 1 GiB disk": what a flavor gives. */
export function flavorSize(f: { vcpus: number; ramMb: number; diskGb: number }): string {
  return `${f.vcpus} vCPU${f.vcpus === 1 ? '' : 's'}, ${formatMiB(f.ramMb)} RAM, ${formatGiB(f.diskGb)} disk`;
}
