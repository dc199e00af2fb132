// The reconcile against a real NB ovsdb-server: from empty, drift of every kind, other clouds' rows, log mode, scale.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { desiredNb } from '../src/desired.ts';
import { OvsdbClient } from '../src/ovsdb.ts';
import { nbReplica, reconcile } from '../src/reconcile.ts';
import { mapOf } from '../src/values.ts';
import { Daemons } from './daemons.ts';
import { bigModel, ids, smallModel } from './fixtures.ts';

const d = new Daemons();
let client: OvsdbClient;
const opts = { cloudId: 'c1', gatewayChassis: ['host-a'] };
const repair = { cloudId: 'c1', mode: 'repair' as const };

beforeAll(async () => {
  d.startDb('nb');
  client = await OvsdbClient.connect(d.nb);
});
afterAll(() => {
  client?.close();
  d.stopAll();
});

const texts = (r: { differences: { text: string }[] }) => r.differences.map((x) => x.text);

describe('reconcile', () => {
  it('fills an empty NB, after which NB matches', async () => {
    const first = await reconcile(client, desiredNb(smallModel(), opts), repair);
    expect(first.written).toBe(true);
    expect(first.differences.every((x) => x.kind === 'missing')).toBe(true);
    expect(texts(first)).toContain(`logical switch port ${ids.vmA.slice(0, 8)}… missing: created`);
    const again = await reconcile(client, desiredNb(smallModel(), opts), repair);
    expect(texts(again)).toEqual([]);
    expect(again.written).toBe(false);
    // What ovn-nbctl sees: the port in its switch, in its port groups, with its DHCP options.
    expect(d.nbctl('lsp-get-addresses', ids.vmA).trim()).toBe('fa:16:3e:00:00:0a 10.0.0.10');
    expect(d.nbctl('lsp-get-ls', ids.vmA)).toContain(`aster-${ids.net1}`);
    expect(d.nbctl('get', 'Port_Group', 'aster_drop_c1', 'ports')).not.toBe('[]\n');
    expect(d.nbctl('lsp-get-dhcpv4-options', ids.vmA)).toContain('10.0.0.0/24');
    expect(d.nbctl('lr-nat-list', `aster-${ids.router}`)).toContain('192.168.122.60');
    expect(d.nbctl('lrp-get-gateway-chassis', `lrp-${ids.gwPort}`)).toContain('host-a');
  });

  it('updates the one ACL of a changed rule, and replaces a rule that changed its id', async () => {
    const model = smallModel();
    const web = model.securityGroups[1]!;
    web.rules[0] = { ...web.rules[0]!, portRangeMin: 2222, portRangeMax: 2222 };
    const r = await reconcile(client, desiredNb(model, opts), repair);
    expect(r.differences).toMatchObject([{ kind: 'changed', table: 'ACL', key: `rule-${ids.ruleSsh}`, columns: ['match'] }]);
    expect(r.operations).toBe(1);
    expect(d.nbctl('acl-list', `pg_${ids.sgWeb.replace(/-/g, '_')}`)).toContain('tcp.dst == 2222');

    web.rules[0] = { ...web.rules[0], id: 'new-rule' };
    const r2 = await reconcile(client, desiredNb(model, opts), repair);
    expect(r2.differences.map((x) => x.kind).sort()).toEqual(['missing', 'unknown']);
    expect(texts(r2).find((t) => t.includes('not known'))).toMatch(new RegExp(`^ACL rule-${ids.ruleSsh} on pg_\\w+ not known: deleted$`));
    const back = await reconcile(client, desiredNb(smallModel(), opts), repair);
    expect(back.differences).toHaveLength(2);
    expect(texts(await reconcile(client, desiredNb(smallModel(), opts), repair))).toEqual([]);
  });

  it('repairs a logical port deleted behind its back', async () => {
    d.nbctl('lsp-del', ids.vmB);
    const r = await reconcile(client, desiredNb(smallModel(), opts), repair);
    // The port is missing, and the port groups lost it (weak references).
    expect(r.differences.find((x) => x.table === 'Logical_Switch_Port')).toMatchObject({ kind: 'missing', key: ids.vmB });
    expect(r.differences.filter((x) => x.table === 'Port_Group').map((x) => x.columns)).toEqual([['ports'], ['ports']]);
    expect(d.nbctl('lsp-get-ls', ids.vmB)).toContain(`aster-${ids.net2}`);
    expect(texts(await reconcile(client, desiredNb(smallModel(), opts), repair))).toEqual([]);
  });

  it("deletes this cloud's rows the model does not know, and leaves other clouds' and untagged rows alone", async () => {
    d.nbctl('ls-add', 'aster-stray', '--', 'set', 'Logical_Switch', 'aster-stray', 'external_ids:aster-cloud=c1');
    d.nbctl('lsp-add', `aster-${ids.net1}`, 'stray-port', '--', 'set', 'Logical_Switch_Port', 'stray-port', 'external_ids:aster-cloud=c1');
    d.nbctl('--', '--id=@a', 'create', 'ACL', 'priority=1002', 'direction=to-lport', 'match="ip4"', 'action=allow', 'external_ids:aster-cloud=c1', '--', 'add', 'Port_Group', 'aster_drop_c1', 'acls', '@a');
    d.nbctl('ls-add', 'aster-other', '--', 'set', 'Logical_Switch', 'aster-other', 'external_ids:aster-cloud=c2');
    d.nbctl('lsp-add', `aster-${ids.net1}`, 'other-port', '--', 'set', 'Logical_Switch_Port', 'other-port', 'external_ids:aster-cloud=c2');
    d.nbctl('ls-add', 'untagged');
    const r = await reconcile(client, desiredNb(smallModel(), opts), repair);
    expect(texts(r).sort()).toEqual(
      [
        'logical switch aster-stray not known: deleted',
        `logical switch port stray-port on aster-${ids.net1} not known: deleted`,
        expect.stringMatching(/^ACL \w{8}… \(ip4\) on aster_drop_c1 not known: deleted$/),
      ].sort(),
    );
    const switches = d.nbctl('ls-list');
    expect(switches).not.toContain('aster-stray');
    expect(switches).toContain('aster-other');
    expect(switches).toContain('untagged');
    expect(d.nbctl('lsp-list', `aster-${ids.net1}`)).toContain('other-port');
    expect(d.nbctl('lsp-list', `aster-${ids.net1}`)).not.toContain('stray-port');
  });

  it('reports in log mode and writes nothing', async () => {
    d.nbctl('lsp-set-addresses', ids.vmA, 'fa:16:3e:00:00:0a 10.0.0.99');
    d.nbctl('lr-nat-del', `aster-${ids.router}`, 'dnat_and_snat', '192.168.122.60');
    const log = await reconcile(client, desiredNb(smallModel(), opts), { cloudId: 'c1', mode: 'log' });
    expect(log.written).toBe(false);
    expect(texts(log).sort()).toEqual([
      `floating IP 192.168.122.60 → 10.0.0.10 on aster-${ids.router} missing: would be created`,
      `logical switch port ${ids.vmA.slice(0, 8)}… differs in addresses: would be updated`,
    ]);
    expect(d.nbctl('lsp-get-addresses', ids.vmA).trim()).toBe('fa:16:3e:00:00:0a 10.0.0.99');
    const fixed = await reconcile(client, desiredNb(smallModel(), opts), repair);
    expect(fixed.differences).toHaveLength(2);
    expect(d.nbctl('lsp-get-addresses', ids.vmA).trim()).toBe('fa:16:3e:00:00:0a 10.0.0.10');
  });

  it('reconciles 1,000 ports over 100 networks, 20 rules a group, quickly after one rule changed', async () => {
    const big = { cloudId: 'big', mode: 'repair' as const };
    const model = bigModel();
    let t = performance.now();
    const first = await reconcile(client, desiredNb(model, { cloudId: 'big' }), big);
    const firstMs = performance.now() - t;
    expect(first.differences.length).toBeGreaterThan(1300);
    model.securityGroups[3]!.rules[7]!.portRangeMax = 9999;
    t = performance.now();
    const desired = desiredNb(model, { cloudId: 'big' });
    const desiredMs = performance.now() - t;
    const one = await reconcile(client, desired, big);
    const oneMs = performance.now() - t;
    expect(one.differences).toMatchObject([{ kind: 'changed', table: 'ACL', columns: ['match'] }]);
    const replica = await nbReplica(client);
    const ours = [...replica.rows('Logical_Switch_Port').values()].filter((r) => mapOf(r.external_ids)['aster-cloud'] === 'big');
    expect(ours).toHaveLength(1100);
    console.log(
      `reconcile at scale (1,000 ports, 100 networks, 10 groups × 20 rules): first fill ${firstMs.toFixed(0)} ms; ` +
        `one rule changed: desiredNb ${desiredMs.toFixed(1)} ms, desired + diff + transaction ${oneMs.toFixed(1)} ms (${one.operations} operation)`,
    );
    // The small cloud was not touched by the big one.
    expect(texts(await reconcile(client, desiredNb(smallModel(), opts), repair))).toEqual([]);
  });
});
