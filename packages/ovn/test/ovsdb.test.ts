// The OVSDB client against a real ovsdb-server with OVN's northbound schema.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { JsonStreamSplitter } from '../src/jsonstream.ts';
import { OvsdbClient, OvsdbTransactionError, type Replica } from '../src/ovsdb.ts';
import { canonical, map, mapOf, namedUuid, set, setOf, uuid, uuidsOf } from '../src/values.ts';
import { Daemons } from './daemons.ts';

const d = new Daemons();
let client: OvsdbClient;

beforeAll(async () => {
  d.startDb('nb');
  client = await OvsdbClient.connect(d.nb, { maxBackoffMs: 200 });
});
afterAll(() => {
  client?.close();
  d.stopAll();
});

const until = async (cond: () => boolean, ms = 5000): Promise<void> => {
  const end = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > end) throw new Error('condition not met in time');
    await new Promise((r) => setTimeout(r, 20));
  }
};

describe('JsonStreamSplitter', () => {
  it('splits objects back to back, across chunks, minding strings and escapes', () => {
    const s = new JsonStreamSplitter();
    const text = '{"a":"}{\\"x"}{"b":[1,{"c":"\\\\"}]}\n{"d":"é"}';
    const out: unknown[] = [];
    for (const ch of text) out.push(...s.push(ch));
    expect(out).toEqual([{ a: '}{"x' }, { b: [1, { c: '\\' }] }, { d: 'é' }]);
    expect(s.push('{"e":1}{"f"')).toEqual([{ e: 1 }]);
    expect(s.push(':2}')).toEqual([{ f: 2 }]);
  });
  it('refuses text between messages', () => {
    expect(() => new JsonStreamSplitter().push('x{}')).toThrow(/unexpected 'x'/);
  });
});

describe('values', () => {
  it('makes and reads sets, maps and uuids', () => {
    expect(set(['a'])).toEqual(['set', ['a']]);
    expect(map({ k: 'v' })).toEqual(['map', [['k', 'v']]]);
    expect(setOf('a')).toEqual(['a']);
    expect(mapOf(['map', [['k', 'v']]])).toEqual({ k: 'v' });
    expect(uuidsOf(['set', [uuid('1'), uuid('2')]])).toEqual(['1', '2']);
    expect(canonical('x')).toBe(canonical(['set', ['x']]));
    expect(canonical(['set', ['b', 'a']])).toBe(canonical(['set', ['a', 'b']]));
    expect(namedUuid('n')).toEqual(['named-uuid', 'n']);
  });
});

describe('OvsdbClient', () => {
  let replica: Replica;

  it('transacts and monitors: inserts, updates and deletes reach the replica', async () => {
    replica = await client.monitor('OVN_Northbound', { Logical_Switch: { columns: ['name', 'ports', 'external_ids'] } });
    const changes: string[] = [];
    replica.onChange((t, _u, o, n) => changes.push(`${t}:${o ? 'old' : '-'}:${n ? 'new' : '-'}`));
    const [ins] = (await client.transact('OVN_Northbound', [
      { op: 'insert', table: 'Logical_Switch', row: { name: 'sw0', external_ids: map({ owner: 'test' }) } },
    ])) as [{ uuid: [string, string] }];
    const id = ins.uuid[1];
    await until(() => replica.rows('Logical_Switch').has(id));
    expect(replica.rows('Logical_Switch').get(id)?.name).toBe('sw0');

    await client.transact('OVN_Northbound', [
      { op: 'insert', table: 'Logical_Switch_Port', row: { name: 'p1' }, 'uuid-name': 'p1' },
      { op: 'mutate', table: 'Logical_Switch', where: [['_uuid', '==', uuid(id)]], mutations: [['ports', 'insert', set([namedUuid('p1')])]] },
    ]);
    await until(() => uuidsOf(replica.rows('Logical_Switch').get(id)?.ports).length === 1);

    await client.transact('OVN_Northbound', [{ op: 'delete', table: 'Logical_Switch', where: [['_uuid', '==', uuid(id)]] }]);
    await until(() => !replica.rows('Logical_Switch').has(id));
    expect(changes).toEqual(['Logical_Switch:-:new', 'Logical_Switch:old:new', 'Logical_Switch:old:-']);
  });

  it('keeps a monitor_cond replica by differences (sets and maps modified in place)', async () => {
    const r = await client.monitor('OVN_Northbound', {
      Logical_Switch: { where: [['external_ids', 'includes', map({ 'aster-cloud': 'c1' })]] },
    });
    await client.transact('OVN_Northbound', [
      { op: 'insert', table: 'Logical_Switch', row: { name: 'a', external_ids: map({ 'aster-cloud': 'c1', x: '1' }) } },
      { op: 'insert', table: 'Logical_Switch', row: { name: 'b', external_ids: map({ 'aster-cloud': 'c2' }) } },
    ]);
    await until(() => r.rows('Logical_Switch').size === 1);
    const [row] = [...r.rows('Logical_Switch').values()];
    expect(row?.name).toBe('a');
    await client.transact('OVN_Northbound', [
      {
        op: 'mutate',
        table: 'Logical_Switch',
        where: [['name', '==', 'a']],
        mutations: [
          ['external_ids', 'insert', map({ y: '2' })],
          ['external_ids', 'delete', set(['x'])],
          ['other_config', 'insert', map({ mtu: '1442' })],
        ],
      },
    ]);
    await until(() => mapOf([...r.rows('Logical_Switch').values()][0]?.external_ids).y === '2');
    expect(mapOf([...r.rows('Logical_Switch').values()][0]?.external_ids)).toEqual({ 'aster-cloud': 'c1', y: '2' });
    expect(mapOf([...r.rows('Logical_Switch').values()][0]?.other_config)).toEqual({ mtu: '1442' });
    await r.cancel();
    await client.transact('OVN_Northbound', [{ op: 'delete', table: 'Logical_Switch', where: [] }]);
  });

  it('applies monitor_cond differences to optional and many-valued set columns', async () => {
    const r = await client.monitor('OVN_Northbound', { Logical_Switch_Port: { where: [['name', '==', 'q']] } });
    await client.transact('OVN_Northbound', [
      { op: 'insert', table: 'Logical_Switch_Port', row: { name: 'q', enabled: false, addresses: set(['a', 'b']) }, 'uuid-name': 'q' },
      { op: 'insert', table: 'Logical_Switch', row: { name: 'sq', ports: set([namedUuid('q')]) } },
    ]);
    const q = () => [...r.rows('Logical_Switch_Port').values()][0];
    await until(() => q() !== undefined);
    await client.transact('OVN_Northbound', [
      { op: 'update', table: 'Logical_Switch_Port', where: [['name', '==', 'q']], row: { enabled: true, addresses: set(['b', 'c']) } },
    ]);
    await until(() => canonical(q()?.addresses) === canonical(set(['b', 'c'])));
    expect(canonical(q()?.enabled)).toBe(canonical(true));
    await client.transact('OVN_Northbound', [{ op: 'update', table: 'Logical_Switch_Port', where: [['name', '==', 'q']], row: { enabled: set([]) } }]);
    await until(() => setOf(q()?.enabled).length === 0);
    await r.cancel();
    await client.transact('OVN_Northbound', [{ op: 'delete', table: 'Logical_Switch', where: [] }]);
  });

  it('names the table and the details of a failed operation or commit', async () => {
    await expect(client.transact('OVN_Northbound', [{ op: 'insert', table: 'Logical_Switch', row: { nosuch: 1 } }])).rejects.toThrow(
      /operation 1 \(insert on Logical_Switch\): unknown column.*nosuch/,
    );
    const dup = client.transact('OVN_Northbound', [
      { op: 'insert', table: 'Port_Group', row: { name: 'pg_dup' } },
      { op: 'insert', table: 'Port_Group', row: { name: 'pg_dup' } },
    ]);
    await expect(dup).rejects.toBeInstanceOf(OvsdbTransactionError);
    await expect(dup).rejects.toThrow(/commit: constraint violation: .*Port_Group/);
  });

  it('reconnects after the server restarts and monitors afresh', async () => {
    const before = client.reconnects;
    d.stopDb('nb');
    await until(() => !client.connected);
    // Changed while the client was away: the fresh monitor must show it.
    d.offlineTransact('nb', [{ op: 'insert', table: 'Logical_Switch', row: { name: 'offline' } }]);
    d.startDb('nb');
    await until(() => client.reconnects > before, 10_000);
    await until(() => [...replica.rows('Logical_Switch').values()].some((r) => r.name === 'offline'));
    await client.transact('OVN_Northbound', [{ op: 'insert', table: 'Logical_Switch', row: { name: 'after' } }]);
    await until(() => [...replica.rows('Logical_Switch').values()].some((r) => r.name === 'after'));
  });
});
