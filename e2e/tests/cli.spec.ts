import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { expect, test } from '@playwright/test';
import { apiUrl, searchPath } from '../env.ts';
import { adminCredentials, signInToApi } from '../helpers/api.ts';
import { deleteServer } from '../helpers/guest.ts';

const aster = fileURLToPath(new URL('../../packages/cli/bin/aster.mjs', import.meta.url));

/** The `aster` command from a shell, against the same stack as the browser tests, with a real guest. */
test('the aster command signs in, lists, launches a guest, reads its log and console URL, and deletes it', async () => {
  test.setTimeout(5 * 60_000);
  const home = mkdtempSync(join(tmpdir(), 'aster-cli-e2e-'));
  const run = (...args: string[]) => {
    const r = spawnSync(process.execPath, [aster, ...args], { env: { PATH: searchPath(), HOME: home }, encoding: 'utf8', timeout: 200_000 });
    return { code: r.status, stdout: r.stdout, stderr: r.stderr };
  };
  const name = `e2e-cli-${Date.now().toString(36)}`;
  try {
    const { username, password } = adminCredentials();
    const login = run('login', '--url', apiUrl(), '--username', username, '--password', password);
    expect(login.code).toBe(0);
    expect(login.stdout).toContain(`Signed in to ${apiUrl()} as admin`);
    expect(statSync(join(home, '.config/aster/config.json')).mode & 0o777).toBe(0o600);

    const flavors = run('flavor', 'list');
    expect(flavors.code).toBe(0);
    expect(flavors.stdout).toMatch(/m1\.tiny\s+1\s+512/);
    const images = JSON.parse(run('image', 'list', '--json').stdout) as { name: string; status: string }[];
    expect(images).toContainEqual(expect.objectContaining({ name: 'aster-tiny', status: 'active' }));

    const created = run('server', 'create', '--name', name, '--image', 'aster-tiny', '--flavor', 'm1.tiny', '--wait', '--json');
    expect(created.code).toBe(0);
    const server = JSON.parse(created.stdout) as { id: string; status: string }; // one server: one object
    expect(server?.status).toBe('ACTIVE');
    expect(run('server', 'list').stdout).toMatch(new RegExp(`${name}\\s+ACTIVE`));

    await expect.poll(() => run('server', 'log', name, '--lines', '50').stdout, { timeout: 120_000, intervals: [2000] }).toContain(`aster-guest ready hostname=${name}`);
    const url = run('server', 'console-url', name, '--type', 'serial');
    expect(url.code).toBe(0);
    expect(url.stdout).toMatch(new RegExp(`/servers/${server!.id}/console\\?type=serial`));

    const bad = run('server', 'create', '--name', `${name}-x`, '--image', 'aster-tiny', '--flavor', 'm1.nope');
    expect(bad.code).toBe(1);
    expect(bad.stderr).toContain('m1.nope');
    expect(run('server', 'frobnicate').code).toBe(2);

    const deleted = run('server', 'delete', name, '--wait');
    expect(deleted.code).toBe(0);
    expect(run('server', 'list', '--json').stdout).not.toContain(name);
  } finally {
    const client = await signInToApi(adminCredentials());
    for (const s of (await client.servers.list.query({ name })).servers) await deleteServer(client, s.id);
    rmSync(home, { recursive: true, force: true });
  }
});
