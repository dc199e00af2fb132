// With a private northd and southbound database: logical flows from the reconciled topology, ovn-trace's verdicts,
// and the watch of ports coming up when a chassis binds them.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { desiredNb } from '../src/desired.ts';
import type { NetworkModel } from '../src/model.ts';
import { OvsdbClient } from '../src/ovsdb.ts';
import { reconcile } from '../src/reconcile.ts';
import { ovnTrace } from '../src/trace.ts';
import { watchPortsUp } from '../src/watch.ts';
import { Daemons } from './daemons.ts';
import { ids, smallModel, uid } from './fixtures.ts';

const d = new Daemons();
let client: OvsdbClient;
const sgOut = uid('ffff', 3);

/** The small model with guest A only in `web` (tcp/22 in) and guest B in a group that allows all egress only. */
function model(): NetworkModel {
  const m = smallModel();
  m.securityGroups.push({
    id: sgOut,
    projectId: 'p1',
    name: 'out',
    stateful: true,
    rules: [{ id: uid('9999', 9), direction: 'egress', ethertype: 'IPv4', protocol: null, portRangeMin: null, portRangeMax: null, remoteIpPrefix: null, remoteGroupId: null }],
  });
  for (const p of m.ports) {
    if (p.id === ids.vmA) p.securityGroupIds = [ids.sgWeb];
    if (p.id === ids.vmB) p.securityGroupIds = [sgOut];
  }
  return m;
}

beforeAll(async () => {
  d.startDb('nb');
  d.startDb('sb');
  d.startNorthd();
  client = await OvsdbClient.connect(d.nb);
  await reconcile(client, desiredNb(model(), { cloudId: 'c1', gatewayChassis: ['host-a'] }), { cloudId: 'c1', mode: 'repair' });
  d.syncNorthd();
});
afterAll(() => {
  client?.close();
  d.stopAll();
});

/** B (10.0.1.10 on net2) to A (10.0.0.10 on net1) through the router, TCP to `port`. */
const fromBtoA = (port: number) =>
  ovnTrace({
    sbDb: d.sb,
    datapath: `aster-${ids.net2}`,
    inport: ids.vmB,
    microflow: `eth.src == fa:16:3e:00:00:0b && eth.dst == fa:16:3e:00:00:03 && ip4.src == 10.0.1.10 && ip4.dst == 10.0.0.10 && ip.ttl == 64 && tcp && tcp.src == 40000 && tcp.dst == ${port}`,
  });

describe('with northd', () => {
  it('turns the router, switches and ports into logical flows', () => {
    const router = d.sbctl('lflow-list', `aster-${ids.router}`);
    expect(router).toContain('lr_in_ip_routing');
    expect(router).toMatch(/ip4.dst == 10.0.1.0\/24/);
    expect(d.sbctl('lflow-list', `aster-${ids.net1}`)).toContain(`outport == @pg_${ids.sgWeb.replace(/-/g, '_')} && ip4 && tcp && tcp.dst == 22`);
  });

  it('traces a packet allowed by a rule to its port, through the router', async () => {
    const t = await fromBtoA(22);
    expect(t.verdict).toEqual({ kind: 'output', ports: [ids.vmA] });
    expect(t.stages.some((s) => s.stage === 'lr_in_ip_routing' && s.match.includes('10.0.0.0/24'))).toBe(true);
    // The last ACL stage is the egress to A (the first is the egress of B's switch to the router).
    const acl = t.stages.findLast((s) => s.stage === 'ls_out_acl');
    expect(acl?.match).toContain('tcp.dst == 22');
    expect(acl?.pipeline).toBe('egress');
  });

  it('traces a packet no rule allows to the drop ACL', async () => {
    const t = await fromBtoA(80);
    expect(t.verdict.kind).toBe('dropped');
    const at = t.verdict.kind === 'dropped' ? t.verdict.at : null;
    expect(at?.stage).toBe('ls_out_acl');
    expect(at?.match).toContain('outport == @aster_drop_c1 && ip');
    expect(t.text).toContain('ls_out_acl');
  });

  it('watches ports come up when a chassis binds them', async () => {
    const seen: [string, boolean][] = [];
    const watch = await watchPortsUp(client, { cloudId: 'c1', onChange: (id, up) => seen.push([id, up]) });
    expect(watch.current().get(ids.vmA)).toBe(false);
    d.sbctl('chassis-add', 'host-a', 'geneve', '127.0.0.1');
    // As ovn-controller does: bind, then say the port's flows are installed.
    d.sbctl('lsp-bind', ids.vmA, 'host-a');
    d.sbctl('set', 'Port_Binding', ids.vmA, 'up=true');
    const until = async (cond: () => boolean) => {
      for (let i = 0; i < 250 && !cond(); i++) await new Promise((r) => setTimeout(r, 20));
      expect(cond()).toBe(true);
    };
    await until(() => watch.current().get(ids.vmA) === true);
    d.sbctl('lsp-unbind', ids.vmA);
    await until(() => watch.current().get(ids.vmA) === false);
    expect(seen.filter(([id]) => id === ids.vmA)).toEqual([
      [ids.vmA, false],
      [ids.vmA, true],
      [ids.vmA, false],
    ]);
    await watch.close();
  });
});
