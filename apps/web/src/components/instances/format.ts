import { flavorSize } from '../../lib/format';
import type { Flavor, Server } from './types';

/** "3 min", "2 h", "5 d": how long ago a server was created. */
export function age(created: string, now: number): string {
  const seconds = Math.max(0, Math.round((now - Date.parse(created)) / 1000));
  if (seconds < 60) return '< 1 min';
  const minutes = Math.floor(seconds / 60);
  if (minutes < 60) return `${minutes} min`;
  const hours = Math.floor(minutes / 60);
  if (hours < 48) return `${hours} h`;
  return `${Math.floor(hours / 24)} d`;
}

export function ips(server: Server): string[] {
  return Object.values(server.addresses).flatMap((list) => list.map((a) => a.ip));
}

/** A task state in words, capitalised: "powering_off" → "Powering off". */
export function taskWords(taskState: string): string {
  const words = taskState.replaceAll('_', ' ');
  return words.charAt(0).toUpperCase() + words.slice(1);
}

export function flavorLabel(f: Pick<Flavor, 'name' | 'vcpus' | 'ramMb' | 'diskGb'>): string {
  return `${f.name} — ${flavorSize(f)}`;
}
