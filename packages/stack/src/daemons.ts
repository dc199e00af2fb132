import { existsSync, readFileSync } from 'node:fs';

/** Whether the process a daemon's pid file names is alive (no pid file, or a stale one, is not). */
export function pidAlive(pidFile: string): boolean {
  if (!existsSync(pidFile)) return false;
  const pid = Number(readFileSync(pidFile, 'utf8').trim());
  if (!pid) return false;
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}
