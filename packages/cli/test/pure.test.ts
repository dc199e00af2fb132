import { mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { run } from '../src/cli.ts';
import { chooseConnection, type Io } from '../src/command.ts';
import { readConfig, writeConfig } from '../src/config.ts';
import { readSettings } from '../src/env.ts';
import { lastLines, newOutput } from '../src/follow.ts';
import { bytes, fields, table } from '../src/output.ts';
import { parseAllowedAddress } from '../src/commands/port.ts';
import { parsePortRange } from '../src/commands/securityGroup.ts';
import { pick, pickSubnet } from '../src/resolve.ts';

const dir = mkdtempSync(join(tmpdir(), 'aster-cli-pure-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('output', () => {
  it('aligns table columns and leaves the last one unpadded', () => {
    expect(table(['ID', 'NAME'], [['1', 'web'], ['22', 'database']])).toBe('ID  NAME\n1   web\n22  database');
    expect(table(['A', 'B'], [])).toBe('A  B');
  });

  it('aligns fields, continuing values of several lines under the first', () => {
    expect(fields([['id', '1'], ['metadata', 'a=1\nb=2']])).toBe('id        1\nmetadata  a=1\n          b=2');
  });

  it('writes sizes in binary units', () => {
    expect([bytes(512), bytes(1536), bytes(256 * 1024), bytes(10 * 1024 ** 3), bytes(null)]).toEqual(['512 B', '1.5 KiB', '256 KiB', '10 GiB', '-']);
  });
});

describe('following a console log', () => {
  it('prints only what was added, also when the log lost its beginning', () => {
    expect(newOutput('', 'boot\n')).toBe('boot\n');
    expect(newOutput('a\nb\n', 'a\nb\nc\n')).toBe('c\n');
    expect(newOutput('a\nb\nc\n', 'b\nc\nd\n')).toBe('d\n');
    expect(newOutput('login: ', 'login: root\n')).toBe('root\n');
    expect(newOutput('a\nb\n', 'a\nb\n')).toBe('');
    // A log that started over (a new boot) shares nothing: all of it is new.
    expect(newOutput('old boot\n', 'new boot\n')).toBe('new boot\n');
  });

  it('takes the last lines', () => {
    expect(lastLines('a\nb\nc\n', 2)).toBe('b\nc\n');
    expect(lastLines('a\nb\nc', 2)).toBe('b\nc');
    expect(lastLines('a\n', 5)).toBe('a\n');
    expect(lastLines('', 5)).toBe('');
  });
});

describe('names and ids', () => {
  const items = [
    { id: 'A1', name: 'tiny' },
    { id: 'B2', name: 'twin' },
    { id: 'C3', name: 'twin' },
  ];
  it('finds by id or exact name, and says what there is otherwise', () => {
    expect(pick('flavor', 'tiny', items).id).toBe('A1');
    expect(pick('flavor', 'c3', items).id).toBe('C3');
    expect(() => pick('flavor', 'huge', items)).toThrow('No flavor named huge; flavors: tiny, twin');
    expect(() => pick('flavor', 'twin', items)).toThrow('2 flavors are named twin; name one by its id: B2, C3');
    expect(() => pick('network', 'x', [])).toThrow('No network named x; there are no networks');
  });
});

describe('subnets by id, name, CIDR or network', () => {
  const networks = [
    { id: 'N1', name: 'web' },
    { id: 'N2', name: 'db' },
    { id: 'N3', name: 'empty' },
  ];
  const subnets = [
    { id: 'S1', name: '', cidr: '10.0.0.0/24', networkId: 'N1' },
    { id: 'S2', name: 'db-a', cidr: '10.1.0.0/24', networkId: 'N2' },
    { id: 'S3', name: 'db-b', cidr: '10.0.0.0/24', networkId: 'N2' },
  ];
  it('takes an id or a name first, then a CIDR held by one subnet, then a network with one subnet', () => {
    expect(pickSubnet('s2', subnets, networks).id).toBe('S2');
    expect(pickSubnet('db-b', subnets, networks).id).toBe('S3');
    expect(pickSubnet('10.1.0.0/24', subnets, networks).id).toBe('S2');
    expect(pickSubnet('web', subnets, networks).id).toBe('S1');
  });
  it('says why when the reference is ambiguous or names nothing', () => {
    expect(() => pickSubnet('10.0.0.0/24', subnets, networks)).toThrow('2 subnets have CIDR 10.0.0.0/24; name one by its id: S1, S3');
    expect(() => pickSubnet('db', subnets, networks)).toThrow('Network db has 2 subnets; name one: db-a, db-b');
    expect(() => pickSubnet('empty', subnets, networks)).toThrow('Network empty has no subnet');
    // An unnamed subnet is listed by its CIDR.
    expect(() => pickSubnet('nope', subnets, networks)).toThrow('No subnet named nope; subnets: 10.0.0.0/24, db-a, db-b');
  });
});

describe('rule ports and allowed addresses', () => {
  it('reads a port or a range of ports', () => {
    expect(parsePortRange('22')).toEqual({ min: 22, max: 22 });
    expect(parsePortRange('22-23')).toEqual({ min: 22, max: 23 });
    expect(parsePortRange('0-65535')).toEqual({ min: 0, max: 65535 });
    for (const bad of ['', 'ssh', '23-22', '70000', '1-70000', '-5', '22-']) expect(parsePortRange(bad), bad).toBeUndefined();
  });
  it('reads an address pair as IP, IP,MAC or OpenStack’s keyed form', () => {
    expect(parseAllowedAddress('10.0.0.50')).toEqual({ ipAddress: '10.0.0.50' });
    expect(parseAllowedAddress('10.0.0.0/24')).toEqual({ ipAddress: '10.0.0.0/24' });
    expect(parseAllowedAddress('10.0.0.50,fa:16:3e:00:00:01')).toEqual({ ipAddress: '10.0.0.50', macAddress: 'fa:16:3e:00:00:01' });
    expect(parseAllowedAddress('ip-address=10.0.0.50,mac-address=fa:16:3e:00:00:01')).toEqual({ ipAddress: '10.0.0.50', macAddress: 'fa:16:3e:00:00:01' });
    expect(parseAllowedAddress('ip-address=10.0.0.50')).toEqual({ ipAddress: '10.0.0.50' });
    for (const bad of ['', 'a,b,c', 'mac-address=fa:16:3e:00:00:01', 'ip-address=10.0.0.5,fa:16:3e:00:00:01']) expect(parseAllowedAddress(bad), bad).toBeUndefined();
  });
});

describe('settings and the saved config', () => {
  it('reads ASTER_URL, ASTER_TOKEN and where the config lives', () => {
    expect(readSettings({ HOME: '/home/ada', ASTER_URL: ' http://api:8774 ', ASTER_TOKEN: '' })).toEqual({
      url: 'http://api:8774',
      token: undefined,
      configFile: '/home/ada/.config/aster/config.json',
    });
    expect(readSettings({ HOME: '/home/ada', XDG_CONFIG_HOME: '/cfg' }).configFile).toBe('/cfg/aster/config.json');
  });

  it('prefers flags to the environment to the config, and sends the saved token only to its own URL', () => {
    const config = { url: 'http://saved:8774/', token: 'saved-token' };
    const env = (url?: string, token?: string) => ({ url, token, configFile: '' });
    expect(chooseConnection({}, env(), config)).toEqual({ url: 'http://saved:8774', token: 'saved-token' });
    expect(chooseConnection({}, env('http://saved:8774'), config)).toEqual({ url: 'http://saved:8774', token: 'saved-token' });
    expect(chooseConnection({}, env('http://other:8774', 'env-token'), config)).toEqual({ url: 'http://other:8774', token: 'env-token' });
    expect(chooseConnection({ url: 'http://flag/trpc', token: 'flag-token' }, env('http://other', 'env-token'), config)).toEqual({ url: 'http://flag', token: 'flag-token' });
    expect(chooseConnection({}, env('http://other:8774'), config)).toEqual({ url: 'http://other:8774', token: undefined });
    expect(chooseConnection({}, env(), null)).toEqual({ url: undefined, token: undefined });
  });

  it('writes the config readable by its owner only, and says what is wrong with a broken one', async () => {
    const file = join(dir, 'a', 'aster', 'config.json');
    await writeConfig(file, { url: 'http://x', token: 't' });
    expect(statSync(file).mode & 0o777).toBe(0o600);
    expect(await readConfig(file)).toEqual({ url: 'http://x', token: 't' });
    expect(JSON.parse(readFileSync(file, 'utf8'))).toEqual({ url: 'http://x', token: 't' });
    expect(await readConfig(join(dir, 'none.json'))).toBeNull();
    writeFileSync(file, '{ nope');
    await expect(readConfig(file)).rejects.toThrow(/is not valid JSON .*: sign in again with aster login/);
  });
});

describe('usage', () => {
  const io = () => {
    const out = { stdout: '', stderr: '' };
    const value: Io = {
      stdout: { write: (t: string) => (out.stdout += t) },
      stderr: { write: (t: string) => (out.stderr += t) },
      settings: { url: undefined, token: undefined, configFile: join(dir, 'missing.json') },
      state: {},
    };
    return { out, io: value };
  };

  it('answers exit 2 with the usage line for what it cannot parse', async () => {
    const cases: [string[], RegExp][] = [
      [[], /^aster: no command given\nUsage: aster <command>/],
      [['server', 'create', '--name'], /^aster server create: Option '--name <value>' argument missing\nUsage: aster server create --name NAME/],
      [['server', 'show'], /^aster server show: missing argument\nUsage: aster server show <name-or-id>/],
      [['flavor', 'list', 'extra'], /^aster flavor list: unexpected argument extra\n/],
      [['server', 'log', 'x', '--lines', 'ten'], /^aster server log: --lines must be a whole number from 1 to 10000 \(got ten\)\n/],
      [['image', 'upload', 'f', '--name', 'n', '--disk-format', 'vmdk'], /--disk-format must be one of qcow2, raw, iso \(got vmdk\)/],
      // Checked before the server is stopped, not after.
      [['server', 'stop', 'web', '--timeout', '5'], /^aster server stop: --timeout goes with --wait\n/],
      [['server', 'create', '--name', 'a', '--image', 'i', '--flavor', 'f', '--wait', '--timeout', '0'], /--timeout must be a whole number from 1 to 86400 \(got 0\)/],
      // Networking: checked before the API is asked (these have no API to ask).
      [['network', 'create'], /^aster network create: missing argument\nUsage: aster network create <name> \[--subnet CIDR/],
      [['network', 'create', 'web', '--no-dhcp'], /^aster network create: --gateway, --no-gateway, --no-dhcp and --dns go with --subnet\n/],
      [['network', 'create', 'web', '--subnet', '10.0.0.0/24', '--gateway', '10.0.0.1', '--no-gateway'], /--gateway and --no-gateway: give one or the other/],
      [['network', 'create', 'web', '--mtu', '100'], /--mtu must be a whole number from 576 to 9000 \(got 100\)/],
      [['subnet', 'create', '--cidr', '10.0.0.0/24'], /^aster subnet create: --network is required\n/],
      [['port', 'create', '--network', 'web', '--allowed-address', 'a,b,c'], /^aster port create: --allowed-address takes IP\[\/PREFIX\]\[,MAC\] \(got a,b,c\)\n/],
      [['port', 'update', 'p', '--port-security', '--no-port-security'], /--port-security and --no-port-security: give one or the other/],
      [['router', 'add-interface', 'r1'], /^aster router add-interface: missing argument\nUsage: aster router add-interface <router> <subnet>\n/],
      [['router', 'create', 'r1', '--no-snat'], /--no-snat goes with --external-gateway/],
      [['floating-ip', 'create', 'public', '--port', 'p', '--server', 's'], /--port and --server: give one or the other/],
      [['security-group', 'rule-add', 'web', '--protocol', 'tcp', '--port', '23-22'], /--port takes a port or a range like 22 or 8000-8080, within 0-65535 \(got 23-22\)/],
      [['security-group', 'rule-add', 'web', '--port', '22'], /--port goes with --protocol tcp or udp/],
      [['security-group', 'rule-add', 'web', '--direction', 'sideways'], /--direction must be one of ingress, egress \(got sideways\)/],
      [['security-group', 'rule-add', 'web', '--protocol', 'gre!'], /--protocol must be tcp, udp, icmp, any or a protocol number \(got gre!\)/],
      [['security-group', 'rule-add', 'web', '--remote-ip', '0.0.0.0/0', '--remote-group', 'g'], /--remote-ip and --remote-group: give one or the other/],
      [['security-group', 'explode'], /^aster security-group: unknown command "explode"; commands: list, show, create, delete, rule-add, rule-delete\n/],
    ];
    for (const [argv, expected] of cases) {
      const { out, io: given } = io();
      expect(await run(argv, given), argv.join(' ')).toBe(2);
      expect(out.stderr).toMatch(expected);
    }
  });

  it('prints the help of a command with its options', async () => {
    const { out, io: given } = io();
    expect(await run(['server', 'create', '--help'], given)).toBe(0);
    expect(out.stdout).toMatch(/^Usage: aster server create --name NAME --image IMAGE --flavor FLAVOR/);
    expect(out.stdout).toContain('--user-data-file FILE');
    expect(out.stdout).toContain('--json');
    const group = io();
    expect(await run(['help', 'image'], group.io)).toBe(0);
    expect(group.out.stdout).toContain('aster image upload <file> --name NAME');
  });
});
