import { randomBytes } from 'node:crypto';
import { chmodSync, mkdirSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { hostname } from 'node:os';
import { join } from 'node:path';
import { createAsterClient, login, type AsterClient } from '@aster/client';
import { createPool, type Pool } from '@aster/db';
import { prepareDatabase } from '../database.ts';
import { inheritedEnv, readLauncherEnv } from '../env.ts';
import { OVN_NB_DB, prepareNetworking, removeCloudRows, run } from '../ovn.ts';
import { root } from '../paths.ts';
import { freePort } from '../ports.ts';
import { startLocalPostgres, type LocalPostgres } from '../postgres.ts';
import { startService, waitReady, type RunningService, type ServiceSpec } from '../services.ts';
import { percentiles } from './measure.ts';
import { bridgeName, must, Namespace, Probe, sweep } from './net-probe.ts';

const say = (line: string) => process.stderr.write(line + '\n');
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const now = () => performance.timeOrigin + performance.now();
const round = (n: number) => Math.round(n * 100) / 100;

/** A TCP listener answering every connection with one line (argv: port). */
const LISTENER = `require('net').createServer((s)=>{s.on('error',()=>{});s.end('ok\\n')}).listen(Number(process.argv[1]),'0.0.0.0',()=>console.log('listening'));`;

/**
 * The prober (argv: ip, port): a connection attempt every 10 ms, each given 250 ms; the outcomes taken in the order
 * the attempts began, and each change of state printed as "open <epoch ms>" or "closed <epoch ms>", the time being
 * when the first attempt of the new state began (its SYN was sent then).
 */
const PROBER = `const net=require('net');const ip=process.argv[1],port=Number(process.argv[2]);
const now=()=>performance.timeOrigin+performance.now();const done=new Map();let next=0,seq=0,state=null;
const settle=(k,t,ok)=>{done.set(k,{t,ok});while(done.has(next)){const r=done.get(next);done.delete(next);next++;if(r.ok!==state){state=r.ok;console.log((r.ok?'open ':'closed ')+r.t.toFixed(1));}}};
setInterval(()=>{const k=seq++,t=now();const s=net.connect({host:ip,port});let fin=false;
const end=(ok)=>{if(fin)return;fin=true;clearTimeout(timer);s.destroy();settle(k,t,ok);};
const timer=setTimeout(()=>end(false),250);s.on('connect',()=>end(true));s.on('error',()=>end(false));},10);`;

/** The receiver (argv: port): per connection, one JSON line with the bytes read and the seconds from first byte to end. */
const RECEIVER = `const now=()=>performance.timeOrigin+performance.now();
require('net').createServer((s)=>{let n=0,t0=0;s.on('error',()=>{});s.on('data',(d)=>{if(!t0)t0=now();n+=d.length;});
s.on('end',()=>{console.log(JSON.stringify({bytes:n,seconds:(now()-t0)/1000}));s.end();});}).listen(Number(process.argv[1]),'0.0.0.0',()=>console.log('listening'));`;

/** The sender (argv: ip, port, ms): writes 1 MiB buffers as fast as the connection takes them, for `ms`. */
const SENDER = `const s=require('net').connect(Number(process.argv[2]),process.argv[1],()=>{const buf=Buffer.alloc(1<<20,7);const until=Date.now()+Number(process.argv[3]);
const pump=()=>{while(Date.now()<until){if(!s.write(buf))return void s.once('drain',pump);}s.end();};pump();});
s.on('error',(e)=>{console.error(e.message);process.exit(1);});s.on('close',()=>process.exit(0));`;

const TPUT_PORT = 5201;
const SEND_MS = 3000;

interface Ctx {
  client: AsterClient;
  db: Pool;
  cloudId: string;
  apiLog: string;
  /** Everything made along the way, removed at the end in reverse order. */
  undo: (() => Promise<unknown>)[];
}

/**
 * `npm run bench:network`: a throwaway Postgres and API process (all roles, the network worker writing this
 * machine's OVN), then: port create → ACTIVE; security group rule → effective; TCP throughput through OVN and
 * a plain Linux bridge; and a rule change at the scale of 1,000 ports. Progress on stderr; the last line of
 * stdout is one JSON object. Everything it makes (namespaces, veths, bridges, OVN rows) is removed at the end.
 */
export async function benchNetwork(args: string[] = []): Promise<number> {
  if (process.getuid?.() !== 0) throw new Error('bench:network plugs namespaces into br-int: run it as root');
  const scalePorts = Number(flag(args, '--ports') ?? 1000);
  const scaleNetworks = Number(flag(args, '--networks') ?? 100);
  const settings = readLauncherEnv();
  const work = mkdtempSync('/tmp/aster-bench-net-');
  chmodSync(work, 0o755);
  mkdirSync(join(work, 'logs'));
  let pg: LocalPostgres | undefined;
  let api: RunningService | undefined;
  let db: Pool | undefined;
  let cloudId: string | undefined;
  const undo: Ctx['undo'] = [];
  let cleaned: Promise<void> | undefined;
  let finished = false;
  const cleanup = () =>
    (cleaned ??= (async () => {
      for (const fn of undo.reverse()) await fn().catch((e: unknown) => say(`cleanup: ${String(e)}`));
      await api?.stop().catch(() => {});
      await db?.end().catch(() => {});
      if (cloudId) {
        const left = await removeCloudRows(cloudId).catch((e: unknown) => `${String(e)}`);
        if (left) say(`OVN rows of cloud ${cloudId} not removed: ${left}`);
      }
      const swept = await sweep();
      if (swept) say(`removed ${swept} namespace(s), link(s) or br-int port(s) left behind`);
      await pg?.stop().catch(() => {});
      if (finished) rmSync(work, { recursive: true, force: true });
      else say(`logs kept in ${join(work, 'logs')}`);
    })());
  const onSignal = () => void cleanup().then(() => process.exit(130));
  process.once('SIGINT', onSignal);
  process.once('SIGTERM', onSignal);

  try {
    await sweep();
    // This machine's OVS and OVN as `npm start` sets them up (started where they are not running), under the
    // chassis name it already has.
    const systemId = (await run('ovs-vsctl', ['--timeout=5', '--if-exists', 'get', 'Open_vSwitch', '.', 'external_ids:system-id'])).stdout.trim().replace(/"/g, '');
    const net = await prepareNetworking(say, { chassis: systemId || hostname() });
    say(`OVN: chassis ${net.chassis}, datapath ${net.datapath}`);
    pg = await startLocalPostgres({ dir: work, port: await freePort(), bin: settings.ASTER_PG_BIN, logFile: join(work, 'logs', 'postgres.log') });
    const password = randomBytes(12).toString('base64url');
    // The floating IPs come from the same range as bench:boot's (both run under the machine's guest lock).
    await prepareDatabase(pg.url, password, { roles: { dir: work }, publicPool: { allocationStart: '192.168.122.200', allocationEnd: '192.168.122.249' } });
    db = createPool({ connectionString: pg.url, max: 4 });
    cloudId = (await db.query<{ id: string }>('SELECT id FROM cloud_identity')).rows[0]!.id;
    const apiPort = await freePort();
    const apiLog = join(work, 'logs/api.log');
    const spec: ServiceSpec = {
      name: 'api',
      cwd: join(root, 'apps/api'),
      command: process.execPath,
      args: ['--import', 'tsx', join(root, 'apps/api/src/main.ts')],
      env: {
        ...inheritedEnv(),
        DATABASE_URL: pg.url,
        ASTER_LOG_LEVEL: 'info',
        NODE_ENV: 'production',
        ASTER_API_PORT: String(apiPort),
        ASTER_IMAGE_DIR: join(work, 'images'),
        ASTER_OVN_NB_DB: OVN_NB_DB,
        // The drift pass is not what is measured: once an hour.
        ASTER_OVN_SYNC_SECONDS: '3600',
      },
      logFile: apiLog,
      ready: { log: true },
    };
    say(`control plane (cloud ${cloudId}) …`);
    api = startService(spec, say);
    await waitReady(api, spec, 60_000);
    const url = `http://127.0.0.1:${apiPort}`;
    const { token } = await login({ url, username: 'admin', password });
    const client = createAsterClient({ url, token });
    const admin = (await db.query<{ id: string }>('SELECT id FROM projects WHERE is_admin')).rows[0]!.id;
    await client.quotas.set.mutate({
      project: admin,
      limits: { networks: -1, subnets: -1, ports: -1, routers: -1, floatingIps: -1, securityGroups: -1, securityGroupRules: -1 },
    });
    const ctx: Ctx = { client, db, cloudId, apiLog, undo };

    const portActive = await portCreateToActive(ctx);
    const rule = await ruleToEffective(ctx);
    const throughput = await tcpThroughput(ctx);
    const scale = await ruleAtScale(ctx, scaleNetworks, scalePorts);
    finished = true;
    await cleanup();
    process.stdout.write(
      JSON.stringify({
        benchmark: 'network',
        datapath: net.datapath,
        portCreateToActive: portActive,
        ruleToEffective: rule,
        throughputGbitPerSecond: throughput,
        scale,
        goals: { portCreateToActiveP50Ms: 100, ruleToEffectiveP99Ms: 1000 },
      }) + '\n',
    );
    return 0;
  } finally {
    await cleanup();
  }
}

function flag(args: string[], name: string): string | undefined {
  const i = args.indexOf(name);
  return i >= 0 ? args[i + 1] : undefined;
}

async function projectNetwork(ctx: Ctx, name: string, cidr: string) {
  const network = await ctx.client.networks.create.mutate({ name, subnet: { cidr } });
  ctx.undo.push(() => ctx.client.networks.delete.mutate({ id: network.id }));
  return network;
}

/** Polls until `check` holds; answers when (epoch ms) it first did. */
async function until(check: () => Promise<boolean> | boolean, timeoutMs: number, what: string, everyMs = 5): Promise<number> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (await check()) return now();
    if (Date.now() > deadline) throw new Error(`${what}: not within ${timeoutMs} ms`);
    await sleep(everyMs);
  }
}

// --- 1. port create → bound and ACTIVE -------------------------------------------------------------------------

async function portCreateToActive(ctx: Ctx) {
  say('port create → ACTIVE (5 + 30 ports) …');
  const { client } = ctx;
  const network = await projectNetwork(ctx, 'bench-bind', '10.61.0.0/24');
  const total: number[] = [];
  const afterPlug: number[] = [];
  const plug: number[] = [];
  for (let i = 0; i < 35; i++) {
    const t0 = now();
    const port = await client.ports.create.mutate({ networkId: network.id, name: `bind-${i}` });
    const probe = await Probe.plugPort(client, port);
    const plugged = now();
    try {
      const active = await until(async () => (await client.ports.get.query({ id: port.id })).status === 'ACTIVE', 20_000, `port ${port.id} ACTIVE`);
      if (i >= 5) {
        total.push(active - t0);
        afterPlug.push(active - plugged);
        plug.push(plugged - t0);
      }
    } finally {
      await probe.remove();
    }
  }
  return {
    fromCreateMs: percentiles(total),
    // From the port's interface being in br-int (ovs-vsctl add-port returned) to ports.get saying ACTIVE.
    fromPlugMs: percentiles(afterPlug),
    // ports.create, the namespace and veth, and ovs-vsctl add-port.
    createAndPlugMs: percentiles(plug),
    pollEveryMs: 5,
  };
}

// --- 2. security group rule → effective ------------------------------------------------------------------------

async function ruleToEffective(ctx: Ctx) {
  say('security group rule → effective (20 rounds) …');
  const { client } = ctx;
  const network = await projectNetwork(ctx, 'bench-sg', '10.62.0.0/24');
  const locked = await client.securityGroups.create.mutate({ name: 'bench-locked' });
  ctx.undo.push(() => client.securityGroups.delete.mutate({ id: locked.id }));
  const listener = await Probe.create(client, { networkId: network.id, name: 'sg-listener', securityGroups: [locked.id] });
  ctx.undo.push(() => listener.remove());
  const prober = await Probe.create(client, { networkId: network.id, name: 'sg-prober' });
  ctx.undo.push(() => prober.remove());
  for (const p of [listener, prober]) await until(async () => (await client.ports.get.query({ id: p.portId })).status === 'ACTIVE', 30_000, 'probe bound', 20);

  let listening!: () => void;
  const isListening = new Promise<void>((r) => (listening = r));
  listener.ns.spawnNode(LISTENER, (line) => line === 'listening' && listening(), ['8080']);
  await isListening;
  const changes: { open: boolean; at: number }[] = [];
  prober.ns.spawnNode(PROBER, (line) => {
    const [state, at] = line.split(' ');
    changes.push({ open: state === 'open', at: Number(at) });
  }, [listener.ip, '8080']);
  const stateAfter = (t: number, open: boolean) => () => changes.some((c) => c.at >= t && c.open === open);
  // At first: closed (a new group has egress rules only).
  await until(() => changes.length > 0, 10_000, 'the prober reports');
  if (changes.at(-1)!.open) throw new Error('the listener is reachable before any ingress rule');

  const opened: number[] = [];
  const closed: number[] = [];
  /** When each measured rule change was asked for (epoch ms), to find the worker's pass that wrote it. */
  const asked: number[] = [];
  const logFrom = passesSince(ctx.apiLog, 0).end;
  const rounds = 22;
  for (let i = 0; i < rounds; i++) {
    const added = now();
    let t = added;
    const r = await client.securityGroups.addRule.mutate({ securityGroupId: locked.id, direction: 'ingress', protocol: 'tcp', portRangeMin: 8080, portRangeMax: 8080, remoteIpPrefix: '0.0.0.0/0' });
    await until(stateAfter(t, true), 10_000, 'rule added: connects succeed', 10);
    const openMs = changes.find((c) => c.at >= t && c.open)!.at - t;
    await sleep(300);
    t = now();
    await client.securityGroups.removeRule.mutate({ id: r.id });
    await until(stateAfter(t, false), 10_000, 'rule removed: connects fail', 10);
    const closeMs = changes.find((c) => c.at >= t && !c.open)!.at - t;
    await sleep(300);
    if (i >= 2) {
      opened.push(openMs);
      closed.push(closeMs);
      asked.push(added, t);
    }
  }
  // The worker's passes (their end: the log line's time) after each change was asked for.
  const written = passesSince(ctx.apiLog, logFrom).at;
  const toWritten = asked.map((t) => (written.find((w) => w >= t) ?? NaN) - t).filter((n) => !Number.isNaN(n));
  return {
    listener: 'probe (a namespace in br-int with a Node TCP server)',
    // From just before the API call to the first connection attempt that got through (attempts every 10 ms).
    addedToFirstConnectMs: percentiles(opened),
    // From just before the API call to the first attempt that failed (an attempt fails after 250 ms unanswered).
    removedToFirstFailureMs: percentiles(closed),
    attemptEveryMs: 10,
    // From the API call to the end of the worker's pass that wrote the change to the northbound database (its log line, ms resolution).
    toNbWrittenMs: percentiles(toWritten),
    samples: { addedMs: opened.map(Math.round), removedMs: closed.map(Math.round) },
  };
}

// --- 4. TCP throughput ------------------------------------------------------------------------------------------

/** Starts a receiver in `ns`; answers a function that sends from `from` (a namespace, or the host) and answers Gbit/s. */
async function receiver(ns: Namespace) {
  const results: { bytes: number; seconds: number }[] = [];
  let listening!: () => void;
  const ready = new Promise<void>((r) => (listening = r));
  ns.spawnNode(RECEIVER, (line) => (line === 'listening' ? listening() : results.push(JSON.parse(line) as { bytes: number; seconds: number })), [String(TPUT_PORT)]);
  await ready;
  return async (from: Namespace | null, ip: string): Promise<number> => {
    const before = results.length;
    const argv = [process.execPath, '-e', SENDER, ip, String(TPUT_PORT), String(SEND_MS)];
    const r = from ? await run('ip', ['netns', 'exec', from.name, ...argv], undefined, SEND_MS + 30_000) : await run(argv[0]!, argv.slice(1), undefined, SEND_MS + 30_000);
    if (r.code !== 0) throw new Error(`sender to ${ip} failed: ${r.stderr.trim()}`);
    await until(() => results.length > before, 10_000, 'the receiver reports');
    const got = results[before]!;
    return round((got.bytes * 8) / got.seconds / 1e9);
  };
}

async function tcpThroughput(ctx: Ctx) {
  say('TCP throughput: OVN switch, host → floating IP, Linux bridge …');
  const { client } = ctx;
  const network = await projectNetwork(ctx, 'bench-tput', '10.63.0.0/24');
  const external = (await client.networks.list.query()).find((n) => n.name === 'public' && n.external);
  if (!external) throw new Error('the external network public is missing');
  const router = await client.routers.create.mutate({ name: 'bench-router', externalGateway: { networkId: external.id } });
  ctx.undo.push(() => client.routers.delete.mutate({ id: router.id }));
  await client.routers.addInterface.mutate({ routerId: router.id, subnetId: network.subnets[0]!.id });
  ctx.undo.push(() => client.routers.removeInterface.mutate({ routerId: router.id, subnetId: network.subnets[0]!.id }));
  const group = await client.securityGroups.create.mutate({ name: 'bench-tput' });
  ctx.undo.push(() => client.securityGroups.delete.mutate({ id: group.id }));
  await client.securityGroups.addRule.mutate({ securityGroupId: group.id, direction: 'ingress', protocol: 'tcp', portRangeMin: TPUT_PORT, portRangeMax: TPUT_PORT, remoteIpPrefix: '0.0.0.0/0' });
  const a = await Probe.create(client, { networkId: network.id, name: 'tput-a', securityGroups: [group.id] });
  ctx.undo.push(() => a.remove());
  const b = await Probe.create(client, { networkId: network.id, name: 'tput-b', securityGroups: [group.id] });
  ctx.undo.push(() => b.remove());
  const fip = await client.floatingIps.create.mutate({ floatingNetwork: external.id, portId: a.portId });
  ctx.undo.push(() => client.floatingIps.delete.mutate({ id: fip.id }));
  for (const p of [a, b]) await until(async () => (await client.ports.get.query({ id: p.portId })).status === 'ACTIVE', 30_000, 'probe bound', 20);

  const sendToA = await receiver(a.ns);
  // The floating IP answers once the router's NAT is in the flows.
  await until(async () => (await run(process.execPath, ['-e', `const s=require('net').connect(${TPUT_PORT},'${fip.floatingIp}',()=>{s.end();process.exit(0)});s.on('error',()=>process.exit(1));setTimeout(()=>process.exit(2),500)`])).code === 0, 30_000, `host reaches ${fip.floatingIp}`, 200);
  await sleep(200);
  const ovnSwitch = await sendToA(b.ns, a.ip);
  const hostToFloatingIp = await sendToA(null, fip.floatingIp);

  // The baseline: a Linux bridge with two namespaces, the same sender and receiver.
  const bridge = bridgeName('x');
  await must('ip', 'link', 'add', bridge, 'type', 'bridge');
  ctx.undo.push(() => run('ip', ['link', 'del', bridge]));
  await must('ip', 'link', 'set', bridge, 'up');
  const la = new Namespace('lba');
  const lb = new Namespace('lbb');
  for (const [i, ns] of [la, lb].entries()) {
    ctx.undo.push(() => ns.remove());
    await ns.create({ address: `10.254.77.${i + 1}/24` });
    await must('ip', 'link', 'set', ns.hostEnd, 'master', bridge);
  }
  const sendToLa = await receiver(la);
  const linuxBridge = await sendToLa(lb, '10.254.77.1');
  return {
    ovnSameSwitch: ovnSwitch,
    hostToFloatingIp,
    linuxBridge,
    tool: `a Node TCP stream of 1 MiB writes for ${SEND_MS / 1000} s, one connection (iperf3 is not installed)`,
  };
}

// --- 3. one rule change at scale --------------------------------------------------------------------------------

const cpuTicks = (pid: number) => {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return Number(f[11]) + Number(f[12]);
};
const pidOf = (file: string) => Number(readFileSync(file, 'utf8').trim());

/** The worker's passes logged since `offset` of its log: ms each, and where the log ends now. */
function passesSince(log: string, offset: number): { ms: number[]; at: number[]; end: number } {
  const text = readFileSync(log, 'utf8');
  const ms: number[] = [];
  const at: number[] = [];
  for (const line of text.slice(offset).split('\n')) {
    if (!line.includes('"OVN updated"')) continue;
    try {
      const record = JSON.parse(line) as { ms: number; time: string };
      ms.push(Number(record.ms));
      at.push(Date.parse(record.time));
    } catch {
      // a line cut short
    }
  }
  return { ms, at, end: text.length };
}

async function pool<T>(items: T[], width: number, fn: (item: T) => Promise<void>): Promise<void> {
  let i = 0;
  await Promise.all(Array.from({ length: width }, async () => {
    while (i < items.length) await fn(items[i++]!);
  }));
}

async function ruleAtScale(ctx: Ctx, networks: number, ports: number) {
  say(`scale: ${ports} ports across ${networks} networks, 20 rules in their group …`);
  const { client, cloudId } = ctx;
  const northd = pidOf('/var/run/ovn/ovn-northd.pid');
  const controller = pidOf('/var/run/ovn/ovn-controller.pid');
  const group = await client.securityGroups.create.mutate({ name: 'bench-scale' });
  for (let r = 0; r < 20; r++) {
    await client.securityGroups.addRule.mutate({ securityGroupId: group.id, direction: 'ingress', protocol: 'tcp', portRangeMin: 2000 + r, portRangeMax: 2000 + r, remoteIpPrefix: `10.${r}.0.0/16` });
  }
  const began = now();
  const cpuBefore = cpuTicks(northd);
  const nets: string[] = [];
  await pool(Array.from({ length: networks }, (_, i) => i), 4, async (i) => {
    const n = await client.networks.create.mutate({ name: `scale-${i}`, subnet: { cidr: `172.20.${i}.0/24` } });
    nets.push(n.id);
  });
  const portIds: string[] = [];
  await pool(Array.from({ length: ports }, (_, i) => i), 8, async (i) => {
    const p = await client.ports.create.mutate({ networkId: nets[i % nets.length]!, name: `scale-${i}`, securityGroups: [group.id] });
    portIds.push(p.id);
  });
  const nbctl = (...a: string[]) => must('ovn-nbctl', `--db=${OVN_NB_DB}`, '--timeout=300', ...a);
  const found = async (table: string, ...conditions: string[]) => (await nbctl('--bare', '--columns=_uuid', 'find', table, ...conditions)).split('\n').filter((l) => l.trim()).length;
  {
    const wanted = new Set(portIds);
    await until(async () => {
      const names = (await nbctl('--bare', '--columns=name', 'find', 'Logical_Switch_Port', `external_ids:aster-cloud=${cloudId}`)).split('\n').map((l) => l.trim());
      return names.filter((n) => wanted.has(n)).length === wanted.size;
    }, 300_000, 'every port in OVN', 500);
    const wait = await waitMode();
    await nbctl(`--wait=${wait}`, 'sync');
    const setupSeconds = (now() - began) / 1000;
    const setupNorthdCpu = (cpuTicks(northd) - cpuBefore) / 100;
    say(`  made in ${round(setupSeconds)} s; rule changes …`);

    const hasAcl = async (ruleId: string) => (await found('ACL', `external_ids:aster-rule-id=${ruleId}`)) > 0;
    const toNb: number[] = [];
    const toFlows: number[] = [];
    const passes: number[] = [];
    let logAt = passesSince(ctx.apiLog, 0).end;
    const northdBefore = cpuTicks(northd);
    const controllerBefore = cpuTicks(controller);
    let phaseMs = 0;
    for (let i = 0; i < 6; i++) {
      const t0 = now();
      const rule = await client.securityGroups.addRule.mutate({ securityGroupId: group.id, direction: 'ingress', protocol: 'tcp', portRangeMin: 3000 + i, portRangeMax: 3000 + i, remoteIpPrefix: '0.0.0.0/0' });
      const inNb = await until(() => hasAcl(rule.id), 60_000, 'the ACL in OVN', 0);
      await nbctl(`--wait=${wait}`, 'sync');
      const done = now();
      phaseMs += done - t0;
      toNb.push(inNb - t0);
      toFlows.push(done - t0);
      await sleep(200);
      const p = passesSince(ctx.apiLog, logAt);
      passes.push(...p.ms);
      logAt = p.end;
    }
    const northdCpu = (cpuTicks(northd) - northdBefore) / 100;
    const controllerCpu = (cpuTicks(controller) - controllerBefore) / 100;
    return {
      ports,
      networks,
      rulesPerGroup: 20,
      setupSeconds: round(setupSeconds),
      setupNorthdCpuSeconds: round(setupNorthdCpu),
      ruleChanges: toFlows.length,
      // From the API call to the rule's ACL in the northbound database (polled with ovn-nbctl, a few ms each).
      ruleToNbMs: percentiles(toNb),
      // From the API call to `ovn-nbctl --wait=<hv|sb> sync` returning.
      ruleToFlowsMs: percentiles(toFlows),
      waitedFor: wait === 'hv' ? 'hv (every chassis has the flows)' : 'sb (southbound updated; the chassis did not report)',
      // The network worker's passes during the rule changes (its "OVN updated" log line).
      workerPassMs: percentiles(passes),
      northdCpuSeconds: round(northdCpu),
      northdCpuShare: round(northdCpu / (phaseMs / 1000)),
      controllerCpuSeconds: round(controllerCpu),
    };
  }
}

/** `hv` when every chassis reports back within 20 s (a dead chassis in the southbound database would not). */
async function waitMode(): Promise<'hv' | 'sb'> {
  const r = await run('ovn-nbctl', [`--db=${OVN_NB_DB}`, '--timeout=20', '--wait=hv', 'sync']);
  return r.code === 0 ? 'hv' : 'sb';
}

// --- cleanup ----------------------------------------------------------------------------------------------------

