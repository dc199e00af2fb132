import { useTestDatabase } from '@aster/db/testing';
import { Daemons } from '@aster/ovn/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startNetworkWorker, type NetworkWorker } from '../src/workers/network.ts';
import { silentLog } from './harness.ts';
import { useNetworkJobs } from './network-harness.ts';

const db = useTestDatabase();
const net = useNetworkJobs(db);
let ovn: Daemons;
let worker: NetworkWorker;

beforeAll(async () => {
  ovn = new Daemons();
  ovn.startDb('nb');
  ovn.startDb('sb');
  ovn.startNorthd();
  worker = await startNetworkWorker({
    db: db.pool,
    jobs: net.jobs,
    log: silentLog,
    config: { nbDb: ovn.nb, sbDb: ovn.sb, syncSeconds: 3600, syncMode: 'repair' },
  });
});
afterAll(async () => {
  await worker?.stop();
  ovn?.stopAll();
});

const lsps = () => ovn.nbctl('--bare', '--columns=name', 'find', 'Logical_Switch_Port', `external_ids:aster-cloud=${worker.cloudId}`).split('\n').map((l) => l.trim()).filter(Boolean);
const switches = () => ovn.nbctl('--bare', '--columns=name', 'list', 'Logical_Switch').split('\n').map((l) => l.trim()).filter(Boolean);

describe('the network worker, on a real OVN northbound database', () => {
  it('writes each change of the model to OVN as the API commits it, and marks ports bound by OVN ACTIVE', async () => {
    const alice = await net.user({ name: 'nw-alice', project: 'nw-web', role: 'member' });
    const network = await alice.api.networks.create({ name: 'lan', subnet: { cidr: '10.9.0.0/24' } });
    await expect.poll(switches, { timeout: 10_000 }).toContain(`aster-${network.id}`);
    const port = await alice.api.ports.create({ networkId: network.id, name: 'p1' });
    await expect.poll(lsps, { timeout: 10_000 }).toContain(port.id);
    expect((await alice.api.ports.get({ id: port.id })).status).toBe('DOWN');

    // A chassis binding the port: northd sets `up`, the worker marks the port ACTIVE.
    ovn.sbctl('chassis-add', 'nw-chassis', 'geneve', '127.0.0.9');
    ovn.syncNorthd();
    ovn.sbctl('lsp-bind', port.id, 'nw-chassis');
    await expect.poll(async () => (await alice.api.ports.get({ id: port.id })).status, { timeout: 10_000 }).toBe('ACTIVE');

    await alice.api.ports.delete({ id: port.id });
    await expect.poll(lsps, { timeout: 10_000 }).not.toContain(port.id);
  });

  it('repairs what changed behind its back (a port deleted, a port it does not know), and in log mode only reports', async () => {
    const bob = await net.user({ name: 'nw-bob', project: 'nw-ops', role: 'member' });
    const network = await bob.api.networks.create({ name: 'ops', subnet: { cidr: '10.8.0.0/24' } });
    const port = await bob.api.ports.create({ networkId: network.id, name: 'keep' });
    await expect.poll(lsps, { timeout: 10_000 }).toContain(port.id);

    ovn.nbctl('lsp-del', port.id);
    ovn.nbctl('lsp-add', `aster-${network.id}`, 'stray', '--', 'set', 'Logical_Switch_Port', 'stray', `external_ids:aster-cloud=${worker.cloudId}`);
    ovn.nbctl('lsp-add', `aster-${network.id}`, 'foreign', '--', 'set', 'Logical_Switch_Port', 'foreign', 'external_ids:aster-cloud=another-cloud');
    expect(lsps()).not.toContain(port.id);

    const logged = await worker.sync('log', 'test');
    expect(logged.written).toBe(false);
    expect(logged.differences.map((d) => d.text).join('\n')).toContain(`logical switch port ${port.id.slice(0, 8)}… missing: would be created`);
    expect(logged.differences.map((d) => d.text).join('\n')).toContain('stray');
    expect(lsps()).toContain('stray');

    const repaired = await worker.sync('repair', 'test');
    expect(repaired.written).toBe(true);
    expect(lsps()).toContain(port.id);
    expect(lsps()).not.toContain('stray');
    // Another cloud's row is never touched.
    expect(ovn.nbctl('--bare', '--columns=name', 'find', 'Logical_Switch_Port', 'name=foreign').trim()).toBe('foreign');
    expect((await worker.sync('log', 'test')).differences).toEqual([]);
  });
});
