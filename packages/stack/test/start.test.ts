import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { chmodSync, existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { createAsterClient, login } from '@aster/client';
import { afterAll, describe, expect, it } from 'vitest';
import { createPool } from '@aster/db';
import { freePort } from '../src/ports.ts';
import { serverUrl } from '../src/postgres.ts';

const root = fileURLToPath(new URL('../../../', import.meta.url));
const dataDir = mkdtempSync(join(tmpdir(), 'aster-start-'));
chmodSync(dataDir, 0o755);

interface Started {
  child: ChildProcess;
  output: () => string;
  exited: Promise<number | null>;
}

async function start(env: Record<string, string>): Promise<Started> {
  const child = spawn(process.execPath, ['--import', 'tsx', join(root, 'packages/stack/src/cli.ts'), 'start'], {
    cwd: root,
    env: { ...process.env, ...env, ASTER_DATA_DIR: dataDir },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  launched.push(child);
  let text = '';
  child.stdout!.on('data', (c: Buffer) => (text += c.toString()));
  child.stderr!.on('data', (c: Buffer) => (text += c.toString()));
  const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
  const deadline = Date.now() + 180_000;
  while (!text.includes('Press Ctrl-C to stop.')) {
    if (child.exitCode !== null) throw new Error(`npm start exited early:\n${text}`);
    if (Date.now() > deadline) throw new Error(`npm start did not come up:\n${text}`);
    await new Promise((r) => setTimeout(r, 200));
  }
  return { child, output: () => text, exited };
}

function alive(pattern: string): Promise<string[]> {
  return new Promise((resolve) => {
    const ps = spawn('ps', ['-eo', 'pid,args'], { stdio: ['ignore', 'pipe', 'ignore'] });
    let out = '';
    ps.stdout.on('data', (c: Buffer) => (out += c.toString()));
    ps.on('exit', () => resolve(out.split('\n').filter((l) => l.includes(pattern))));
  });
}

const launched: ChildProcess[] = [];
afterAll(async () => {
  // A failed assertion must not leave a stack running.
  for (const child of launched) if (child.exitCode === null) child.kill('SIGTERM');
  await Promise.all(launched.map((c) => (c.exitCode === null ? new Promise((r) => c.once('exit', r)) : null)));
  rmSync(dataDir, { recursive: true, force: true });
});

describe('npm start', () => {
  it('starts everything, prints the admin password once, keeps data across a restart, and stops every process', async () => {
    const ports = { ASTER_API_PORT: await freePort(), ASTER_WEB_PORT: await freePort(), ASTER_PROXY_PORT: await freePort(), ASTER_PG_PORT: await freePort(), ASTER_METADATA_PORT: await freePort() };
    const env = Object.fromEntries(Object.entries(ports).map(([k, v]) => [k, String(v)]));
    const url = `http://127.0.0.1:${ports.ASTER_API_PORT}`;

    const first = await start(env);
    const password = /Sign in {3}user admin, password (\S+)/.exec(first.output())?.[1];
    expect(password, first.output()).toBeDefined();
    expect(first.output()).toContain(`Console   http://127.0.0.1:${ports.ASTER_WEB_PORT}`);
    const session = await login({ url, username: 'admin', password: password! });
    const aster = createAsterClient({ url, token: session.token });
    await aster.projects.create.mutate({ name: 'kept-across-restarts' });
    // The API process runs all four roles, each registered as a service and up; the compute agent registers
    // through the conductor (a moment after it says ready), with its host in placement.
    await expect
      .poll(async () => (await aster.services.list.query()).map((s) => `${s.binary} ${s.status}`).sort(), { timeout: 15_000 })
      .toEqual(['aster-api up', 'aster-compute up', 'aster-conductor up', 'aster-network up', 'aster-scheduler up']);
    // The agent drives libvirt: kvm only if a guest booted under KVM at its start, else qemu, and it says why.
    const [hypervisor] = await aster.hypervisors.list.query();
    expect(hypervisor?.hypervisorType).toMatch(/^(kvm|qemu)$/);
    expect(hypervisor?.capabilities.domainTypeReason).toEqual(expect.any(String));
    // Its Open vSwitch datapath: the kernel's where the module is loaded, else userspace (this kind of machine).
    expect(hypervisor?.capabilities.ovsDatapath).toBe(existsSync('/sys/module/openvswitch') ? 'system' : 'netdev');
    // The guest image is there to launch at once.
    expect((await aster.images.list.query({})).filter((i) => i.name === 'aster-tiny').map((i) => `${i.status} ${i.visibility}`)).toEqual(['active public']);
    // The compute agent connects with its own role, which reaches the job queues and nothing else.
    expect(serverUrl(dataDir, ports.ASTER_PG_PORT)).toContain(encodeURIComponent(join(dataDir, 'run')));
    const pg = createPool({ connectionString: `${serverUrl(dataDir, ports.ASTER_PG_PORT, { tcp: true })}/aster`, max: 1 });
    try {
      const { rows } = await pg.query<{ usename: string }>(`SELECT DISTINCT usename FROM pg_stat_activity WHERE application_name LIKE 'aster-compute-%'`);
      expect(rows.map((r) => r.usename)).toEqual(['aster_compute']);
      // Every process on this machine talks to Postgres through its Unix socket (no client address), not TCP.
      const ways = await pg.query<{ socket: boolean }>(`SELECT DISTINCT client_addr IS NULL AS socket FROM pg_stat_activity WHERE application_name LIKE 'aster-%'`);
      expect(ways.rows).toEqual([{ socket: true }]);
    } finally {
      await pg.end();
    }
    // The console proxy's role reads the console tokens' view and nothing else: not their table, not instances.
    const proxyPassword = readFileSync(join(dataDir, 'proxy.password'), 'utf8').trim();
    const proxyUrl = new URL(`${serverUrl(dataDir, ports.ASTER_PG_PORT)}/aster`);
    proxyUrl.username = 'aster_proxy';
    proxyUrl.password = proxyPassword;
    const asProxy = createPool({ connectionString: proxyUrl.toString(), max: 1 });
    try {
      expect((await asProxy.query('SELECT count(*)::int AS n FROM console_token_targets')).rows).toEqual([{ n: 0 }]);
      for (const table of ['console_tokens', 'instances', 'users', 'tokens']) {
        await expect(asProxy.query(`SELECT 1 FROM ${table} LIMIT 1`)).rejects.toThrow(`permission denied for table ${table}`);
      }
    } finally {
      await asProxy.end();
    }
    // The first start's flavors and shared network.
    expect((await aster.flavors.list.query({})).map((f) => f.name)).toEqual(['m1.tiny', 'm1.small', 'm1.medium', 'm1.large']);
    expect((await aster.networks.list.query({})).map((n) => `${n.name} ${n.subnets[0]?.cidr}`)).toEqual(['public 192.168.122.0/24']);
    // The README's script, as a user runs it: plain Node, the built client.
    const readme = readFileSync(join(root, 'README.md'), 'utf8');
    const script = /### The typed client[\s\S]*?```js\n([\s\S]*?)```/.exec(readme)?.[1];
    expect(script).toBeDefined();
    const run = spawnSync(process.execPath, ['--input-type=module', '-e', script!.replace("'http://127.0.0.1:8774'", `'${url}'`)], {
      cwd: root,
      env: { PATH: process.env.PATH ?? '', ASTER_PASSWORD: password! },
      encoding: 'utf8',
      timeout: 30_000,
    });
    expect(run.stderr).toBe('');
    expect(run.stdout).toBe('admin on project admin, roles admin\n');

    const page = await fetch(`http://127.0.0.1:${ports.ASTER_WEB_PORT}/login`);
    expect(page.status).toBe(200);
    expect(await page.text()).toContain('Sign in');

    first.child.kill('SIGINT');
    expect(await first.exited).toBe(0);
    expect(first.output()).toContain('Stopped.');
    expect(await alive(dataDir)).toEqual([]);
    expect(await alive(`:${ports.ASTER_WEB_PORT}`)).toEqual([]);
    await expect(fetch(`${url}/healthz`)).rejects.toThrow();

    const second = await start(env);
    expect(second.output()).not.toContain('Sign in   user admin');
    const again = await login({ url, username: 'admin', password: password! });
    const projects = await createAsterClient({ url, token: again.token }).projects.list.query();
    expect(projects.map((p) => p.name)).toContain('kept-across-restarts');
    second.child.kill('SIGTERM');
    expect(await second.exited).toBe(0);
    expect(await alive(dataDir)).toEqual([]);
  }, 400_000);
});
