import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { useTestDatabase } from '@aster/db/testing';
import { describe, expect, it } from 'vitest';

const root = fileURLToPath(new URL('../../../', import.meta.url));
const db = useTestDatabase();

describe('an API process running only some roles', () => {
  it('registers just those services, serves no HTTP, and marks them stopped on SIGTERM', async () => {
    const url = new URL(db.url);
    url.searchParams.set('options', `-c search_path=${db.schema}`);
    const child = spawn(process.execPath, ['--import', 'tsx', 'apps/api/src/main.ts'], {
      cwd: root,
      env: { PATH: process.env.PATH ?? '', DATABASE_URL: url.toString(), ASTER_ROLES: 'scheduler, conductor', ASTER_SERVICE_HOST: 'ctl-9', },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let out = '';
    child.stdout.on('data', (c: Buffer) => (out += c.toString()));
    child.stderr.on('data', (c: Buffer) => (out += c.toString()));
    const exited = new Promise<number | null>((resolve) => child.on('exit', resolve));
    const deadline = Date.now() + 20_000;
    while (!out.includes('"msg":"ready"') && Date.now() < deadline && child.exitCode === null) await new Promise((r) => setTimeout(r, 100));
    expect(out).toContain('"roles":["scheduler","conductor"]');
    expect(out).not.toContain('"trpc"'); // the ready line of a process without the api role names no endpoint

    const rows = async () =>
      (await db.pool.query<{ binary_name: string; stopped_at: Date | null }>(`SELECT binary_name, stopped_at FROM services WHERE host = 'ctl-9' ORDER BY binary_name`)).rows;
    expect(await rows()).toEqual([
      { binary_name: 'aster-conductor', stopped_at: null },
      { binary_name: 'aster-scheduler', stopped_at: null },
    ]);

    child.kill('SIGTERM');
    expect(await exited).toBe(0);
    expect((await rows()).map((r) => r.stopped_at)).toEqual([expect.any(Date), expect.any(Date)]);
  });
});
