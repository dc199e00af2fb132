import { randomUUID } from 'node:crypto';
import { connect } from 'node:net';
import { signInstanceId } from '@aster/compute';
import { transaction } from '@aster/db';
import { useTestDatabase } from '@aster/db/testing';
import { createLogger } from '@aster/log';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { allocatePorts } from '../src/compute/ipam.ts';
import { createNetwork } from '../src/compute/networks.ts';
import { startMetadataServer, type MetadataServer } from '../src/index.ts';
import { insertInstance } from './harness.ts';

const db = useTestDatabase();
const SECRET = 'metadata-test-secret';
const KEY = 'ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIJ2mR5b8tW0x3Yk1s9Qv7f6e5d4c3b2a1z0y9x8w7v6u meta@test';
const lines: { level: string; msg: string; status?: number; reason?: string }[] = [];
const log = createLogger('metadata-test', { level: 'debug', write: (line) => lines.push(JSON.parse(line)) });

let server: MetadataServer;
let base: string;
let projectId: string;
let instanceId: string;
let bareId: string;

async function project(name: string): Promise<string> {
  const { rows } = await db.pool.query<{ id: string }>('INSERT INTO projects (name) VALUES ($1) RETURNING id', [name]);
  return rows[0]!.id;
}

beforeAll(async () => {
  projectId = await project('meta');
  instanceId = await insertInstance(db.pool, projectId, 'meta-web');
  await db.pool.query(
    `UPDATE instances SET name = 'meta web', hostname = 'meta-web', key_name = 'meta-key', key_data = $2, user_data = $3,
            metadata = '{"role":"web","note":"say \\"hi\\""}', flavor = '{"name":"m1.tiny"}', launch_index = 2
      WHERE id = $1`,
    [instanceId, KEY, '#cloud-config\nhostname: é\n'],
  );
  const net = await createNetwork(db.pool, { name: 'meta-net', projectId, shared: false, bridge: 'virbr0', subnet: { cidr: '10.9.0.0/24', dnsServers: ['10.9.0.1'] } });
  await transaction(db.pool, (c) => allocatePorts(c, instanceId, [net.id]));
  bareId = await insertInstance(db.pool, projectId, 'meta-bare');
  server = await startMetadataServer({ db: db.pool, secret: SECRET, log, host: '127.0.0.1', port: 0 });
  base = `http://127.0.0.1:${server.port}`;
});
afterAll(() => server?.close());

const signed = (id: string, tenant = projectId, signature = signInstanceId(SECRET, id)) => ({
  'X-Instance-ID': id,
  'X-Tenant-ID': tenant,
  'X-Instance-ID-Signature': signature,
});

async function get(path: string, headers: Record<string, string> = signed(instanceId), method = 'GET') {
  const res = await fetch(base + path, { headers, method });
  return { status: res.status, type: res.headers.get('content-type'), body: Buffer.from(await res.arrayBuffer()) };
}
const text = async (path: string, headers?: Record<string, string>) => {
  const r = await get(path, headers);
  return { ...r, body: r.body.toString('utf8') };
};

describe('OpenStack metadata', () => {
  it('lists the versions and the files of one', async () => {
    expect(await text('/', {})).toMatchObject({ status: 200, body: '1.0\n2007-01-19\n2007-03-01\n2007-08-29\n2007-10-10\n2007-12-15\n2008-02-01\n2008-09-01\n2009-04-04\nlatest' });
    const versions = await text('/openstack');
    expect(versions.body.split('\n')).toEqual(['2012-08-10', '2013-04-04', '2013-10-17', '2015-10-15', '2016-06-30', '2016-10-06', '2017-02-22', '2018-08-27', 'latest']);
    expect((await text('/openstack/')).body).toBe(versions.body);
    expect((await text('/openstack/latest/')).body).toBe('meta_data.json\nuser_data\npassword\nvendor_data.json\nnetwork_data.json\nvendor_data2.json');
    expect((await text('/openstack/2012-08-10')).body).toBe('meta_data.json\nuser_data');
    expect((await text('/openstack/latest', signed(bareId))).body).not.toContain('user_data');
  });

  it('serves meta_data.json with the instance’s uuid, hostname and key', async () => {
    const r = await text('/openstack/latest/meta_data.json');
    expect(r).toMatchObject({ status: 200, type: 'application/json' });
    expect(JSON.parse(r.body)).toEqual({
      uuid: instanceId,
      name: 'meta web',
      hostname: 'meta-web',
      launch_index: 2,
      availability_zone: 'nova',
      project_id: projectId,
      public_keys: { 'meta-key': KEY },
      keys: [{ name: 'meta-key', type: 'ssh', data: KEY }],
      meta: { role: 'web', note: 'say "hi"' },
      devices: [],
    });
    // A dated version serves what it had.
    expect(JSON.parse((await text('/openstack/2013-10-17/meta_data.json')).body)).not.toHaveProperty('project_id');
  });

  it('serves user_data as the bytes given, and 404 when there is none', async () => {
    const r = await get('/openstack/latest/user_data');
    expect(r.status).toBe(200);
    expect(r.body.equals(Buffer.from('#cloud-config\nhostname: é\n', 'utf8'))).toBe(true);
    expect((await get('/openstack/latest/user_data', signed(bareId))).status).toBe(404);
  });

  it('serves network_data.json with the port’s address', async () => {
    const r = await text('/openstack/latest/network_data.json');
    expect(r.type).toBe('application/json');
    const data = JSON.parse(r.body);
    expect(data.networks).toEqual([
      expect.objectContaining({ id: 'network0', type: 'ipv4', ip_address: '10.9.0.2', netmask: '255.255.255.0', routes: [{ network: '0.0.0.0', netmask: '0.0.0.0', gateway: '10.9.0.1' }] }),
    ]);
    expect(data.links[0]).toMatchObject({ type: 'phy', ethernet_mac_address: expect.stringMatching(/^fa:16:3e:/) });
    expect(data.services).toEqual([{ type: 'dns', address: '10.9.0.1' }]);
    expect(JSON.parse((await text('/openstack/latest/network_data.json', signed(bareId))).body)).toEqual({ links: [], networks: [], services: [] });
  });

  it('serves empty vendor data and password', async () => {
    expect(await text('/openstack/latest/vendor_data.json')).toMatchObject({ status: 200, type: 'application/json', body: '{}' });
    expect(await text('/openstack/latest/vendor_data2.json')).toMatchObject({ status: 200, body: '{}' });
    expect(await text('/openstack/latest/password')).toMatchObject({ status: 200, body: '' });
    // Not in versions before they existed.
    expect((await text('/openstack/2013-04-04/vendor_data.json')).status).toBe(404);
  });

  it('answers HEAD without a body, and refuses other methods', async () => {
    const head = await get('/openstack/latest/meta_data.json', signed(instanceId), 'HEAD');
    expect(head).toMatchObject({ status: 200, type: 'application/json' });
    expect(head.body.length).toBe(0);
    expect((await get('/openstack/latest/password', signed(instanceId), 'POST')).status).toBe(405);
  });
});

describe('EC2 metadata', () => {
  it('serves the meta-data tree with folder listings', async () => {
    expect((await text('/latest')).body).toBe('meta-data/\nuser-data');
    expect((await text('/latest/', signed(bareId))).body).toBe('meta-data/');
    const listing = (await text('/latest/meta-data/')).body.split('\n');
    expect(listing).toEqual(expect.arrayContaining(['hostname', 'instance-id', 'local-ipv4', 'public-keys/', 'placement/', 'instance-type']));
    expect(await text('/latest/meta-data/instance-id')).toMatchObject({ status: 200, type: 'text/plain; charset=utf-8', body: instanceId });
    expect((await text('/latest/meta-data/local-ipv4')).body).toBe('10.9.0.2');
    expect((await text('/latest/meta-data/hostname')).body).toBe('meta-web');
    expect((await text('/latest/meta-data/instance-type')).body).toBe('m1.tiny');
    expect((await text('/latest/meta-data/public-keys/')).body).toBe('0=meta-key');
    expect((await text('/latest/meta-data/public-keys/0/openssh-key')).body).toBe(KEY);
    expect((await text('/latest/meta-data/placement/availability-zone')).body).toBe('nova');
    expect((await get('/latest/user-data')).body.toString('utf8')).toBe('#cloud-config\nhostname: é\n');
    expect((await text('/2009-04-04/meta-data/hostname')).body).toBe('meta-web');
    expect((await text('/ec2/latest/meta-data/hostname')).body).toBe('meta-web');
  });

  it('answers 404 for unknown paths', async () => {
    for (const path of ['/latest/meta-data/nothing', '/latest/user-data', '/2010-01-01/meta-data/', '/openstack/latest/nothing.json', '/openstack/2099-01-01/meta_data.json', '/latest/meta-data/hostname/more', '/other']) {
      const headers = path === '/latest/user-data' ? signed(bareId) : signed(instanceId);
      expect({ path, status: (await get(path, headers)).status }).toEqual({ path, status: 404 });
    }
  });
});

/** A request line sent as is: fetch would resolve `..` and refuse odd targets before they left. */
function raw(target: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const socket = connect(server.port, '127.0.0.1', () => {
      const h = signed(instanceId);
      const head = Object.entries(h).map(([k, v]) => `${k}: ${v}\r\n`).join('');
      socket.write(`GET ${target} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n${head}\r\n`);
    });
    let out = '';
    socket.on('data', (d) => (out += d.toString('utf8')));
    socket.on('end', () => resolve(out.split('\r\n')[0]!));
    socket.on('error', reject);
  });
}

describe('odd request targets', () => {
  it('answers 404 for dot segments and targets that are not paths, and ignores the query', async () => {
    expect(await raw('/latest/meta-data/../user-data')).toBe('HTTP/1.1 404 Not Found');
    expect(await raw('/openstack/%2e%2e/latest')).toBe('HTTP/1.1 404 Not Found');
    expect(await raw('http://[/latest')).toMatch(/^HTTP\/1.1 (400|404)/);
    expect(await raw('/latest/meta-data/hostname?x=1')).toBe('HTTP/1.1 200 OK');
  });
});

describe('who may read', () => {
  it('refuses an unsigned request', async () => {
    const r = await text('/openstack/latest/meta_data.json', { 'X-Instance-ID': instanceId, 'X-Tenant-ID': projectId });
    expect(r).toMatchObject({ status: 403, type: 'text/plain; charset=utf-8', body: expect.stringMatching(/^metadata request is not signed \(missing X-Instance-ID-Signature\)/) });
    expect((await text('/latest/meta-data/', {})).body).toMatch(/^metadata request is not signed \(missing X-Instance-ID, X-Tenant-ID, X-Instance-ID-Signature\)/);
  });

  it('refuses a forged signature and the signature of another instance', async () => {
    const forged = await text('/openstack/latest/meta_data.json', signed(instanceId, projectId, signInstanceId('guessed', instanceId)));
    expect(forged).toMatchObject({ status: 403, body: 'signature does not match the instance' });
    expect((await text('/openstack/latest/meta_data.json', signed(instanceId, projectId, 'not hex'))).status).toBe(403);
    // A guest that learned its own signature cannot read another instance with it.
    const other = await text('/openstack/latest/meta_data.json', signed(instanceId, projectId, signInstanceId(SECRET, bareId)));
    expect(other).toMatchObject({ status: 403, body: 'signature does not match the instance' });
    expect(lines.some((l) => l.level === 'warn' && l.status === 403 && l.reason === 'signature does not match the instance')).toBe(true);
  });

  it('refuses a tenant that is not the instance’s project', async () => {
    const other = await project('meta-other');
    const r = await text('/openstack/latest/meta_data.json', signed(instanceId, other));
    expect(r).toMatchObject({ status: 403, body: expect.stringMatching(/is not the project of instance/) });
  });

  it('answers 404 for an unknown or deleted instance', async () => {
    expect(await text('/openstack/latest/meta_data.json', signed(randomUUID()))).toMatchObject({ status: 404, body: expect.stringMatching(/^instance .* not found$/) });
    expect((await text('/openstack/latest/meta_data.json', signed('not-a-uuid'))).status).toBe(404);
    const gone = await insertInstance(db.pool, projectId, 'meta-gone');
    expect((await text('/openstack/latest/meta_data.json', signed(gone))).status).toBe(200);
    await db.pool.query(`UPDATE instances SET vm_state = 'deleted', deleted_at = now() WHERE id = $1`, [gone]);
    expect((await text('/openstack/latest/meta_data.json', signed(gone))).status).toBe(404);
  });

  it('logs each request with the instance, the path and the status', () => {
    expect(lines).toContainEqual(expect.objectContaining({ level: 'debug', msg: 'metadata request', instanceId, path: '/openstack/latest/meta_data.json', status: 200 }));
  });
});
