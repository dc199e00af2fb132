import { mkdtempSync, rmSync, statSync, readFileSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { defaultApiConfig } from '@aster/api';
import { useTestDatabase } from '@aster/db/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createApiHandler } from '../../../apps/api/src/http.ts';
import { computeStack, type ComputeStack } from '../../api/test/compute-harness.ts';
import { ADMIN_PASSWORD, silentLog } from '../../api/test/harness.ts';
import { ed25519PublicKey, runAster, startAster } from './run.ts';

const db = useTestDatabase();
let stack: ComputeStack;
let http: Server;
let url: string;
const dir = mkdtempSync(join(tmpdir(), 'aster-cli-'));
const home = join(dir, 'home');
const configFile = join(home, '.config', 'aster', 'config.json');

beforeAll(async () => {
  stack = await computeStack(db);
  await stack.addHost('cli-host');
  await stack.image('tiny');
  const config = { ...defaultApiConfig, imageDir: join(dir, 'images') };
  http = createServer(createApiHandler({ db: db.pool, log: silentLog, config, jobs: stack.jobs, changes: stack.changes }));
  await new Promise<void>((resolve) => http.listen(0, '127.0.0.1', resolve));
  url = `http://127.0.0.1:${(http.address() as AddressInfo).port}`;
}, 60_000);

afterAll(async () => {
  http?.closeAllConnections();
  await new Promise<void>((resolve) => (http ? http.close(() => resolve()) : resolve()));
  await stack?.stop();
  rmSync(dir, { recursive: true, force: true });
});

/** `aster …` as a user at a shell whose ASTER_URL names the test's API. */
const aster = (args: string[], extra: Record<string, string> = {}, input?: string) => runAster(args, { HOME: home, ASTER_URL: url, ...extra }, input);
const parsed = <T>(out: { stdout: string }) => JSON.parse(out.stdout) as T;

async function waitUntil(check: () => boolean, timeoutMs = 15_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > deadline) throw new Error('timed out waiting for the command\'s output');
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

// Each step runs a real process; on a busy machine one may take seconds.
describe('the aster command', { timeout: 120_000 }, () => {
  it('names an unknown command and lists the valid ones, exit 2', async () => {
    const r = await aster(['frobnicate']);
    expect(r).toMatchObject({ code: 2 });
    expect(r.stderr).toContain('unknown command "frobnicate"');
    expect(r.stderr).toMatch(/commands: login, logout, whoami, server, image, flavor, network, subnet, port, router, floating-ip, security-group, keypair, help/);
    const sub = await aster(['server', 'explode']);
    expect(sub).toMatchObject({ code: 2 });
    expect(sub.stderr).toContain('aster server: unknown command "explode"; commands: list, show, create');
    const help = await aster(['--help']);
    expect(help).toMatchObject({ code: 0 });
    expect(help.stdout).toContain('aster <command>');
  });

  it('refuses a command without a token, saying how to sign in', async () => {
    const r = await aster(['server', 'list']);
    expect(r).toMatchObject({ code: 1 });
    expect(r.stderr).toContain(`Not signed in to ${url}: run aster login`);
  });

  it('refuses a wrong password with the API message, exit 1, and writes nothing', async () => {
    const r = await aster(['login', '--username', 'admin', '--password', 'not-the-password']);
    expect(r).toMatchObject({ code: 1, stderr: 'aster: Invalid username or password\n' });
    expect(() => statSync(configFile)).toThrow();
  });

  it('logs in from answers on stdin and writes the config with mode 600', async () => {
    const r = await aster(['login'], {}, `admin\n${ADMIN_PASSWORD}\n`);
    expect(r.stderr).toContain('Saved in');
    expect(r).toMatchObject({ code: 0 });
    expect(r.stdout).toContain(`Signed in to ${url} as admin (project admin`);
    expect(statSync(configFile).mode & 0o777).toBe(0o600);
    expect(statSync(join(home, '.config', 'aster')).mode & 0o777).toBe(0o700);
    const saved = JSON.parse(readFileSync(configFile, 'utf8')) as Record<string, string>;
    expect(saved).toMatchObject({ url, user: 'admin', project: 'admin', token: expect.stringMatching(/.{20}/) });
    const me = await aster(['whoami', '--json']);
    expect(parsed<{ user: { name: string }; isAdmin: boolean }>(me)).toMatchObject({ user: { name: 'admin' }, isAdmin: true });
  });

  it('lists flavors as a table and as JSON', async () => {
    const table = await aster(['flavor', 'list']);
    expect(table).toMatchObject({ code: 0 });
    const [header, ...rows] = table.stdout.trimEnd().split('\n');
    expect(header).toMatch(/^ID +NAME +VCPUS +RAM +DISK +PUBLIC$/);
    expect(rows.some((r) => / m1\.tiny +1 +512 MB +1 GB +yes$/.test(r))).toBe(true);
    const json = parsed<{ name: string }[]>(await aster(['flavor', 'list', '--json']));
    expect(json.map((f) => f.name)).toContain('m1.tiny');
  });

  it('launches a server by image and flavor names, waits for ACTIVE, and works it through its life', async () => {
    const created = await aster(['server', 'create', '--name', 'cli-one', '--image', 'tiny', '--flavor', 'm1.tiny', '--network', 'public', '--wait', '--json']);
    expect(created.stderr).toBe('');
    expect(created).toMatchObject({ code: 0 });
    const server = parsed<{ id: string; status: string; taskState: string | null }>(created);
    expect(server).toMatchObject({ status: 'ACTIVE', taskState: null });

    const table = await aster(['server', 'list']);
    expect(table.stdout).toMatch(new RegExp(`^${server.id} +cli-one +ACTIVE +- +RUNNING +public=\\S+ +tiny +m1.tiny`, 'm'));
    const listed = parsed<{ id: string; name: string }[]>(await aster(['server', 'list', '--json']));
    expect(listed.map((s) => s.name)).toEqual(['cli-one']);
    const shown = await aster(['server', 'show', 'cli-one']);
    expect(shown.stdout).toMatch(/^status +ACTIVE$/m);

    const stopped = await aster(['server', 'stop', 'cli-one', '--wait']);
    expect(stopped).toMatchObject({ code: 0, stdout: `cli-one (${server.id}): SHUTOFF\n` });
    const started = await aster(['server', 'start', server.id, '--wait']);
    expect(started).toMatchObject({ code: 0, stdout: `cli-one (${server.id}): ACTIVE\n` });
    const rebooted = await aster(['server', 'reboot', 'cli-one', '--wait']);
    expect(rebooted).toMatchObject({ code: 0, stdout: `cli-one (${server.id}): ACTIVE\n` });
    const hard = await aster(['server', 'reboot', 'cli-one', '--hard', '--wait', '--json']);
    expect(parsed<{ status: string }>(hard)).toMatchObject({ status: 'ACTIVE' });

    const console = await aster(['server', 'console-url', 'cli-one']);
    expect(console).toMatchObject({ code: 0 });
    expect(console.stdout.trim()).toBe(`${defaultApiConfig.webUrl}/servers/${server.id}/console?type=novnc`);
    const serial = parsed<{ type: string; websocketUrl: string }>(await aster(['server', 'console-url', 'cli-one', '--type', 'serial', '--json']));
    expect(serial).toMatchObject({ type: 'serial', websocketUrl: expect.stringMatching(/^ws:\/\/.*\?token=/) });
    const badType = await aster(['server', 'console-url', 'cli-one', '--type', 'rdp']);
    expect(badType).toMatchObject({ code: 2 });
    expect(badType.stderr).toContain('--type must be one of novnc, spice-html5, serial (got rdp)');

    const log = await aster(['server', 'log', 'cli-one', '--lines', '2']);
    expect(log).toMatchObject({ code: 0, stdout: expect.stringMatching(/^.*\n.*\n$/) });
    // Following: what the guest writes after the start (a reboot's lines) shows up, once each.
    const follow = startAster(['server', 'log', 'cli-one', '--lines', '1', '--follow', '--interval', '1'], { HOME: home, ASTER_URL: url });
    try {
      await waitUntil(() => follow.output().stdout.length > 0);
      expect(follow.output().stdout.split('\n')).toHaveLength(2);
      await aster(['server', 'reboot', 'cli-one', '--wait']);
      await waitUntil(() => follow.output().stdout.includes('reboot: restarting system'));
      await waitUntil(() => follow.output().stdout.includes('aster-guest ready'));
      expect(follow.output().stdout.match(/reboot: restarting system/g)).toHaveLength(1);
      expect(follow.output().stderr).toBe('');
    } finally {
      await follow.stop();
    }

    const deleted = await aster(['server', 'delete', 'cli-one', '--wait']);
    expect(deleted).toMatchObject({ code: 0, stdout: `cli-one (${server.id}): DELETED\n` });
    expect(parsed<unknown[]>(await aster(['server', 'list', '--json']))).toEqual([]);
    const gone = await aster(['server', 'show', 'cli-one']);
    expect(gone).toMatchObject({ code: 1, stderr: 'aster: No server named cli-one\n' });
   });

  it('refuses an unknown flavor: by name with the ones there are, by id with the API message; exit 1', async () => {
    const byName = await aster(['server', 'create', '--name', 'cli-no', '--image', 'tiny', '--flavor', 'm1.colossal']);
    expect(byName).toMatchObject({ code: 1 });
    expect(byName.stderr).toMatch(/^aster: No flavor named m1\.colossal; flavors: m1\.tiny, m1\.small/);
    const id = '00000000-0000-4000-8000-000000000000';
    const byId = await aster(['server', 'create', '--name', 'cli-no', '--image', 'tiny', '--flavor', id]);
    expect(byId).toMatchObject({ code: 1, stderr: `aster: Flavor ${id} not found\n` });
    const missing = await aster(['server', 'create', '--image', 'tiny', '--flavor', 'm1.tiny']);
    expect(missing).toMatchObject({ code: 2 });
    expect(missing.stderr).toContain('aster server create: --name is required\nUsage: aster server create --name NAME');
  });

  it('launches into a server group by name and into a zone, and names a zone that does not exist', async () => {
    const group = await stack.admin.api.serverGroups.create({ name: 'cli-group', policy: 'soft-anti-affinity' });
    const r = await aster(['server', 'create', '--name', 'cli-grouped', '--image', 'tiny', '--flavor', 'm1.tiny', '--group', 'cli-group', '--zone', 'nova', '--json']);
    expect(r).toMatchObject({ code: 0 });
    const server = parsed<{ id: string; serverGroupId: string; availabilityZone: string }>(r);
    expect(server).toMatchObject({ serverGroupId: group.id, availabilityZone: 'nova' });
    const unknown = await aster(['server', 'create', '--name', 'cli-nozone', '--image', 'tiny', '--flavor', 'm1.tiny', '--zone', 'az9']);
    expect(unknown).toMatchObject({ code: 1, stderr: "aster: Availability zone 'az9' does not exist; zones are: nova\n" });
    const noGroup = await aster(['server', 'create', '--name', 'cli-nogroup', '--image', 'tiny', '--flavor', 'm1.tiny', '--group', 'cli-nope']);
    expect(noGroup).toMatchObject({ code: 1, stderr: 'aster: No server group named cli-nope; server groups: cli-group\n' });
    expect((await aster(['server', 'delete', server.id, '--wait'])).code).toBe(0);
  });

  it('waits for several servers at once, and ends with exit 1 and the fault when a launch fails', async () => {
    const two = await aster(['server', 'create', '--name', 'cli-pair', '--image', 'tiny', '--flavor', 'm1.tiny', '--count', '2', '--wait', '--json']);
    expect(two).toMatchObject({ code: 0 });
    const pair = parsed<{ id: string; status: string }[]>(two);
    expect(pair.map((s) => s.status)).toEqual(['ACTIVE', 'ACTIVE']);
    const gone = await aster(['server', 'delete', ...pair.map((s) => s.id), '--wait']);
    expect(gone).toMatchObject({ code: 0 });
    expect(gone.stdout.trimEnd().split('\n')).toEqual(pair.map((s) => expect.stringMatching(new RegExp(`\\(${s.id}\\): DELETED$`))));

    // More disk than any host has (disk is not under quota, so the API takes it and the scheduler refuses it).
    await stack.admin.api.flavors.create({ name: 'cli-huge', vcpus: 1, ramMb: 512, diskGb: 1048576 });
    const failed = await aster(['server', 'create', '--name', 'cli-fails', '--image', 'tiny', '--flavor', 'cli-huge', '--wait']);
    expect(failed).toMatchObject({ code: 1 });
    expect(failed.stdout).toMatch(/^status +ERROR$/m);
    expect(failed.stderr).toMatch(/^aster: Server cli-fails \(\S+\) is ERROR: No valid host/);
    const id = /^id +(\S+)$/m.exec(failed.stdout)?.[1] ?? '';
    expect((await aster(['server', 'delete', id, '--wait'])).code).toBe(0);
  });

  it('uploads a small raw image, streaming it, and deletes it', async () => {
    const file = join(dir, 'disk.raw');
    writeFileSync(file, Buffer.alloc(256 * 1024, 7));
    const up = await aster(['image', 'upload', file, '--name', 'cli-raw', '--json']);
    expect(up.stderr).toBe('');
    expect(up).toMatchObject({ code: 0 });
    const image = parsed<{ id: string; status: string; diskFormat: string; sizeBytes: number }>(up);
    expect(image).toMatchObject({ status: 'active', diskFormat: 'raw', sizeBytes: 256 * 1024 });
    expect((await aster(['image', 'list'])).stdout).toMatch(new RegExp(`^${image.id} +cli-raw +active +private +raw +256 KiB`, 'm'));

    // Data that is not what it is declared to be: the API says why, and the new image is not left behind.
    const wrong = await aster(['image', 'upload', file, '--name', 'cli-not-qcow2', '--disk-format', 'qcow2']);
    expect(wrong).toMatchObject({ code: 1 });
    expect(wrong.stderr).toMatch(/^aster: Disk format mismatch: declared qcow2/);
    expect(wrong.stderr).toMatch(/Image cli-not-qcow2 \(\S+\) was deleted\./);
    expect(parsed<unknown[]>(await aster(['image', 'list', '--name', 'cli-not-qcow2', '--json']))).toEqual([]);

    const del = await aster(['image', 'delete', 'cli-raw']);
    expect(del).toMatchObject({ code: 0, stdout: `Deleted image cli-raw (${image.id})\n` });
  });

  it('imports, lists and deletes a key pair', async () => {
    const file = join(dir, 'id_ed25519.pub');
    writeFileSync(file, ed25519PublicKey());
    const imported = await aster(['keypair', 'import', 'cli-key', '--public-key-file', file]);
    expect(imported).toMatchObject({ code: 0 });
    expect(imported.stdout).toMatch(/^type +ssh-ed25519$/m);
    const again = await aster(['keypair', 'import', 'cli-key', '--public-key-file', file]);
    expect(again).toMatchObject({ code: 1, stderr: 'aster: You already have a key pair named cli-key\n' });
    expect((await aster(['keypair', 'list'])).stdout).toMatch(/^cli-key +ssh-ed25519 +SHA256:/m);
    expect(await aster(['keypair', 'delete', 'cli-key'])).toMatchObject({ code: 0, stdout: 'Deleted key pair cli-key\n' });
    expect(parsed<unknown[]>(await aster(['keypair', 'list', '--json']))).toEqual([]);
  });

  it('takes the token from --token before ASTER_TOKEN before the config file', async () => {
    const saved = JSON.parse(readFileSync(configFile, 'utf8')) as { token: string };
    const bad = await aster(['whoami'], { ASTER_TOKEN: 'ast_not-a-token' });
    expect(bad).toMatchObject({ code: 1 });
    expect(bad.stderr).toContain('\nSign in with: aster login');
    const flag = await aster(['whoami', '--json', '--token', saved.token], { ASTER_TOKEN: 'ast_not-a-token' });
    expect(flag).toMatchObject({ code: 0 });
    // The saved token is for the saved URL only: another URL does not get it.
    const elsewhere = await aster(['whoami', '--url', 'http://127.0.0.1:9']);
    expect(elsewhere).toMatchObject({ code: 1, stderr: 'aster: Not signed in to http://127.0.0.1:9: run aster login, or give --token or ASTER_TOKEN\n' });
  });

  it('logs out: the token is revoked and forgotten, the URL kept', async () => {
    const { token } = JSON.parse(readFileSync(configFile, 'utf8')) as { token: string };
    const out = await aster(['logout']);
    expect(out).toMatchObject({ code: 0, stdout: `Signed out of ${url}.\n` });
    expect(JSON.parse(readFileSync(configFile, 'utf8'))).toEqual({ url, user: 'admin', project: 'admin' });
    const revoked = await aster(['whoami', '--token', token]);
    expect(revoked).toMatchObject({ code: 1 });
    expect(revoked.stderr).toMatch(/^aster: .*token/i);
    expect((await aster(['server', 'list'])).stderr).toContain('Not signed in');
  });
});
