import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

/**
 * A record, in the data folder, of the launcher and the processes it started. It stops a second launcher
 * on the same data folder, and lets a start after a crash (or a kill -9) stop what the last one left running.
 */
interface Entry {
  name: string;
  pid: number;
  /** Text the process's command line must contain, so a reused pid is never signalled. */
  marker: string;
}

interface Record {
  launcher: number;
  processes: Entry[];
}

export class AlreadyRunningError extends Error {
  override name = 'AlreadyRunningError';
}

function commandLine(pid: number): string | null {
  try {
    return readFileSync(`/proc/${pid}/cmdline`, 'utf8').replace(/\0/g, ' ');
  } catch {
    return null;
  }
}

const runs = (pid: number, marker: string) => commandLine(pid)?.includes(marker) ?? false;

async function stopLeftover(entry: Entry): Promise<void> {
  const signal = entry.name === 'postgres' ? 'SIGINT' : 'SIGTERM';
  try {
    process.kill(entry.pid, signal);
  } catch {
    return;
  }
  for (let i = 0; i < 100 && runs(entry.pid, entry.marker); i++) await new Promise((r) => setTimeout(r, 100));
  if (runs(entry.pid, entry.marker)) process.kill(entry.pid, 'SIGKILL');
}

/** The pid of a launcher running from `dir`, if any. */
export function runningLauncher(dir: string): number | null {
  try {
    const record = JSON.parse(readFileSync(join(dir, 'aster.run.json'), 'utf8')) as Record;
    return runs(record.launcher, 'cli.ts') ? record.launcher : null;
  } catch {
    return null;
  }
}

export interface RunFile {
  add(name: string, pid: number | undefined, marker: string): void;
  release(): void;
}

export async function claimDataDir(dir: string, say: (line: string) => void): Promise<RunFile> {
  mkdirSync(dir, { recursive: true });
  const path = join(dir, 'aster.run.json');
  if (existsSync(path)) {
    let previous: Record | undefined;
    try {
      previous = JSON.parse(readFileSync(path, 'utf8')) as Record;
    } catch {
      previous = undefined;
    }
    if (previous && runs(previous.launcher, 'cli.ts')) {
      throw new AlreadyRunningError(
        `Aster is already running from ${dir} (launcher pid ${previous.launcher}). Stop it first (Ctrl-C where it runs, or kill ${previous.launcher}), or choose another ASTER_DATA_DIR.`,
      );
    }
    const leftovers = (previous?.processes ?? []).filter((p) => runs(p.pid, p.marker));
    if (leftovers.length) {
      say(`The last start did not end cleanly; stopping what it left running: ${leftovers.map((p) => `${p.name} (pid ${p.pid})`).join(', ')}`);
      // Services before Postgres, as in a normal stop.
      for (const p of leftovers.filter((l) => l.name !== 'postgres')) await stopLeftover(p);
      for (const p of leftovers.filter((l) => l.name === 'postgres')) await stopLeftover(p);
    }
  }
  const record: Record = { launcher: process.pid, processes: [] };
  const save = () => writeFileSync(path, JSON.stringify(record, null, 2) + '\n');
  save();
  return {
    add(name, pid, marker) {
      if (pid === undefined) return;
      record.processes.push({ name, pid, marker });
      save();
    },
    release() {
      rmSync(path, { force: true });
    },
  };
}
