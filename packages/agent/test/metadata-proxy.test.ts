import { execFile, execFileSync } from 'node:child_process';
import { randomBytes, randomInt, randomUUID } from 'node:crypto';
import { createServer, request, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { promisify } from 'node:util';
// eslint-disable-next-line no-restricted-imports -- the proxy is checked end to end against the real listener
import { startMetadataServer, type MetadataServer } from '@aster/api';
// eslint-disable-next-line no-restricted-imports -- the listener reads a real database
import { useTestDatabase } from '@aster/db/testing';
import { createLogger } from '@aster/log';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ensureMetadataDnat, MetadataProxy, MetadataRoutes, removeMetadataDnat, type IptablesRunner } from '../src/metadata-proxy.ts';

const db = useTestDatabase();
const SECRET = 'proxy-test-secret';
const silent = createLogger('metadata-proxy-test', { write: () => {} });
const exec = promisify(execFile);

let listener: MetadataServer;
let projectId: string;
let instanceId: string;
let otherId: string;
const proxies: MetadataProxy[] = [];

async function insertInstance(name: string): Promise<string> {
  const id = randomUUID();
  await db.pool.query(
    `INSERT INTO instances (id, project_id, name, hostname, flavor_id, flavor, image_id, image, vm_state, reservation_id)
     VALUES ($1, $2, $3, $3, $4, '{"name":"m1.tiny"}', $5, '{}', 'active', $6)`,
    [id, projectId, name, randomUUID(), randomUUID(), `r-${name}`],
  );
  return id;
}

beforeAll(async () => {
  const { rows } = await db.pool.query<{ id: string }>(`INSERT INTO projects (name) VALUES ('proxy') RETURNING id`);
  projectId = rows[0]!.id;
  instanceId = await insertInstance('proxied');
  otherId = await insertInstance('bystander');
  listener = await startMetadataServer({ db: db.pool, secret: SECRET, log: silent, host: '127.0.0.1', port: 0 });
});
afterAll(async () => {
  for (const p of proxies) await p.stop();
  await listener?.close();
});

async function proxy(options: Partial<ConstructorParameters<typeof MetadataProxy>[0]> = {}) {
  const p = new MetadataProxy({
    listenHost: '127.0.0.1',
    listenPort: 0,
    metadataUrl: `http://127.0.0.1:${listener.port}`,
    secret: SECRET,
    lookup: (ip) => (ip === '127.0.0.1' ? { instanceId, projectId } : null),
    log: silent,
    ...options,
  });
  proxies.push(p);
  const { port } = await p.start();
  return `http://127.0.0.1:${port}`;
}

/** A GET with headers as a guest might send them (fetch would refuse none of these, but keeps it plain). */
function get(url: string, headers: Record<string, string> = {}, method = 'GET') {
  return new Promise<{ status: number; type: string | undefined; body: string }>((resolve, reject) => {
    const req = request(url, { method, headers }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (c: string) => (body += c));
      res.on('end', () => resolve({ status: res.statusCode!, type: res.headers['content-type'], body }));
    });
    req.on('error', reject);
    req.end();
  });
}

describe('MetadataProxy', () => {
  it('forwards a guest’s request, signed as its instance', async () => {
    const base = await proxy();
    const r = await get(`${base}/openstack/latest/meta_data.json`);
    expect(r).toMatchObject({ status: 200, type: 'application/json' });
    expect(JSON.parse(r.body)).toMatchObject({ uuid: instanceId, hostname: 'proxied', project_id: projectId });
    expect(await get(`${base}/latest/meta-data/instance-type`)).toMatchObject({ status: 200, body: 'm1.tiny' });
    expect(await get(`${base}/latest/meta-data/nothing?x=1`)).toMatchObject({ status: 404 });
    const head = await get(`${base}/openstack/latest/meta_data.json`, {}, 'HEAD');
    expect(head).toMatchObject({ status: 200, body: '' });
    expect((await get(`${base}/openstack/latest/meta_data.json`, {}, 'DELETE')).status).toBe(405);
  });

  it('ignores the instance headers a guest sends', async () => {
    const base = await proxy();
    const forged = {
      'X-Instance-ID': otherId,
      'X-Tenant-ID': projectId,
      'X-Instance-ID-Signature': 'f'.repeat(64),
      'X-Forwarded-For': '10.0.0.99',
    };
    const r = await get(`${base}/openstack/latest/meta_data.json`, forged);
    expect(r.status).toBe(200);
    expect(JSON.parse(r.body).uuid).toBe(instanceId);
  });

  it('answers 404 for an address no instance has', async () => {
    const base = await proxy({ lookup: () => null });
    expect(await get(`${base}/openstack/latest/meta_data.json`)).toMatchObject({ status: 404, body: 'no instance has address 127.0.0.1 on this host' });
  });

  it('answers 502 when the metadata service is down, and 504 when it does not answer', async () => {
    const closed = createServer();
    await new Promise<void>((r) => closed.listen(0, '127.0.0.1', r));
    const port = (closed.address() as AddressInfo).port;
    await new Promise((r) => closed.close(r));
    const down = await proxy({ metadataUrl: `http://127.0.0.1:${port}` });
    const r = await get(`${down}/openstack/latest/meta_data.json`);
    expect(r).toMatchObject({ status: 502, body: expect.stringMatching(/^the metadata service at http:\/\/127.0.0.1:\d+ cannot be reached \(ECONNREFUSED\)$/) });

    const silentServer: Server = createServer(() => {});
    await new Promise<void>((resolve) => silentServer.listen(0, '127.0.0.1', resolve));
    try {
      const slow = await proxy({ metadataUrl: `http://127.0.0.1:${(silentServer.address() as AddressInfo).port}`, upstreamTimeoutMs: 200 });
      expect(await get(`${slow}/openstack/latest/meta_data.json`)).toMatchObject({ status: 504, body: expect.stringMatching(/did not answer within 0.2 s/) });
    } finally {
      silentServer.closeAllConnections();
      await new Promise((resolve) => silentServer.close(resolve));
    }
  });
});

/** iptables' nat table in memory: enough of -C, -I, -D and -S for the DNAT helpers. */
function fakeIptables(initial: string[] = []) {
  const rules = [...initial];
  const run: IptablesRunner = async (args) => {
    const [op, , ...spec] = args;
    const line = spec.join(' ');
    const at = rules.indexOf(line);
    if (op === '-S') return { code: 0, stdout: ['-P PREROUTING ACCEPT', ...rules.map((r) => `-A PREROUTING ${r}`)].join('\n') + '\n', stderr: '' };
    if (op === '-C') return at >= 0 ? { code: 0, stdout: '', stderr: '' } : { code: 1, stdout: '', stderr: 'Bad rule' };
    if (op === '-I') return rules.unshift(line), { code: 0, stdout: '', stderr: '' };
    if (op === '-D' && at >= 0) return rules.splice(at, 1), { code: 0, stdout: '', stderr: '' };
    return { code: 1, stdout: '', stderr: 'iptables: Bad rule (does a matching rule exist in that chain?).' };
  };
  return { run, rules };
}
const rule = (bridge: string, to: string) =>
  `-i ${bridge} -d 169.254.169.254/32 -p tcp --dport 80 -m comment --comment aster-metadata -j DNAT --to-destination ${to}`;

describe('metadata DNAT', () => {
  it('adds the rule once, and replaces a stale one on the same bridge only', async () => {
    const other = '-i virbr1 -d 169.254.169.254/32 -p tcp --dport 80 -m comment --comment aster-metadata -j DNAT --to-destination 10.0.0.1:9';
    const foreign = '-i virbr0 -p udp --dport 53 -j ACCEPT';
    const ipt = fakeIptables([rule('virbr0', '192.168.122.1:1111'), other, foreign]);
    expect(await ensureMetadataDnat({ bridge: 'virbr0', to: '192.168.122.1:2222', run: ipt.run })).toBe(true);
    expect(ipt.rules).toEqual([rule('virbr0', '192.168.122.1:2222'), other, foreign]);
    expect(await ensureMetadataDnat({ bridge: 'virbr0', to: '192.168.122.1:2222', run: ipt.run })).toBe(false);
    expect(ipt.rules).toHaveLength(3);
    expect(await removeMetadataDnat({ bridge: 'virbr0', run: ipt.run })).toBe(1);
    expect(await removeMetadataDnat({ bridge: 'virbr0', run: ipt.run })).toBe(0);
    expect(ipt.rules).toEqual([other, foreign]);
  });

  it('routes each guest address of an agent on its own, so agents sharing a bridge keep their guests', async () => {
    const ipt = fakeIptables();
    const mine = new MetadataRoutes(silent, ipt.run);
    const theirs = new MetadataRoutes(silent, ipt.run);
    await mine.add('192.168.122.10'); // plugged before the proxy listens: remembered
    expect(ipt.rules).toEqual([]);
    await mine.start('virbr0', '192.168.122.1:1111');
    await theirs.start('virbr0', '192.168.122.1:2222');
    await theirs.add('192.168.122.11');
    await mine.add('192.168.122.12');
    const sourced = (ip: string, to: string) => rule('virbr0', to).replace('-i virbr0 ', `-i virbr0 -s ${ip}/32 `);
    expect(ipt.rules.sort()).toEqual(
      [sourced('192.168.122.10', '192.168.122.1:1111'), sourced('192.168.122.11', '192.168.122.1:2222'), sourced('192.168.122.12', '192.168.122.1:1111')].sort(),
    );
    await mine.remove('192.168.122.10');
    await mine.stop();
    expect(ipt.rules).toEqual([sourced('192.168.122.11', '192.168.122.1:2222')]);
  });

  it('says what iptables said when it fails', async () => {
    const run: IptablesRunner = async () => ({ code: 4, stdout: '', stderr: "can't initialize iptables table `nat': Permission denied" });
    await expect(ensureMetadataDnat({ bridge: 'virbr0', to: '192.168.122.1:1', run })).rejects.toThrow(/-I PREROUTING .* failed: can't initialize/);
  });
});

// A guest stand-in: a network namespace behind a veth pair, its traffic entering the host as a guest's does
// on its bridge. Needs root and iproute2; leaves nothing behind.
const canNetns = (() => {
  if (process.getuid?.() !== 0) return false;
  try {
    execFileSync('ip', ['netns', 'list'], { stdio: 'ignore' });
    execFileSync('iptables', ['-w', '5', '-t', 'nat', '-S', 'PREROUTING'], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
})();

describe.skipIf(!canNetns)('metadata DNAT for real', () => {
  it('brings a request for 169.254.169.254 to the proxy with the guest’s own address', async () => {
    const tag = randomBytes(3).toString('hex');
    const ns = `astmd-${tag}`;
    const hostIf = `amh${tag}`;
    const nsIf = `amn${tag}`;
    const net = `10.254.${randomInt(0, 256)}`;
    const [hostIp, guestIp] = [`${net}.1`, `${net}.2`];
    const ip = (...args: string[]) => exec('ip', args);
    const inNs = (...args: string[]) => exec('ip', ['netns', 'exec', ns, ...args]);
    let to: string | null = null;
    try {
      await ip('netns', 'add', ns);
      await ip('link', 'add', hostIf, 'type', 'veth', 'peer', 'name', nsIf);
      await ip('link', 'set', nsIf, 'netns', ns);
      await ip('addr', 'add', `${hostIp}/30`, 'dev', hostIf);
      await ip('link', 'set', hostIf, 'up');
      await inNs('ip', 'addr', 'add', `${guestIp}/30`, 'dev', nsIf);
      await inNs('ip', 'link', 'set', nsIf, 'up');
      await inNs('ip', 'route', 'add', 'default', 'via', hostIp);

      const seen: string[] = [];
      const base = await proxy({
        listenHost: hostIp,
        lookup: (address) => (seen.push(address), address === guestIp ? { instanceId, projectId } : null),
      });
      to = `${hostIp}:${new URL(base).port}`;
      expect(await ensureMetadataDnat({ bridge: hostIf, to })).toBe(true);
      const { stdout } = await inNs('curl', '-sS', '-m', '10', `http://169.254.169.254/openstack/latest/meta_data.json`);
      expect(JSON.parse(stdout)).toMatchObject({ uuid: instanceId });
      expect(seen).toEqual([guestIp]);
    } finally {
      if (to) await removeMetadataDnat({ bridge: hostIf }).catch(() => {});
      // Deleting the namespace deletes the veth pair with it.
      await ip('netns', 'del', ns).catch(() => {});
      await ip('link', 'del', hostIf).catch(() => {});
    }
    const { stdout } = await exec('iptables', ['-w', '5', '-t', 'nat', '-S', 'PREROUTING']);
    expect(stdout).not.toContain(hostIf);
  });
});
