import { execFile } from 'node:child_process';
import { randomBytes, randomUUID } from 'node:crypto';
import { chmodSync, existsSync, mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { mkdir, rm, writeFile } from 'node:fs/promises';
import { createServer } from 'node:http';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { createAsterClient, login, type AsterClient } from '@aster/client';
import { createPool, type Pool } from '@aster/db';
import { parseEnv, z } from '@aster/env';
import { domainXml, parseLeases, Virsh } from '@aster/virt/libvirt';
import { prepareDatabase } from '../database.ts';
import { inheritedEnv, readLauncherEnv } from '../env.ts';
import { prepareComputeHost, removeDomainsUnder } from '../hypervisor.ts';
import { dataDir, root } from '../paths.ts';
import { freePort } from '../ports.ts';
import { startLocalPostgres, type LocalPostgres } from '../postgres.ts';
import { startStack, type Stack } from '../stack.ts';
import { banner, lifecycleEvents, watcher } from './boot-observe.ts';
import { percentiles } from './measure.ts';

const say = (line: string) => process.stderr.write(line + '\n');
const exec = promisify(execFile);
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const p50 = (xs: number[]) => percentiles(xs).p50;

const runsSetting = () =>
  parseEnv(
    z.object({
      ASTER_BENCH_BOOT_RUNS: z
        .string()
        .regex(/^[1-9]\d*(,\d+){0,2}$/, 'must be the numbers of raw, cached and cold runs, e.g. 5,5,3 (one number sets all three; raw at least 1)')
        .default('5,5,3')
        .transform((s) => s.split(',').map(Number))
        .transform(([raw, cached = raw, cold = raw]) => ({ raw: raw!, cached: cached!, cold: cold! })),
    }),
  ).ASTER_BENCH_BOOT_RUNS;

type Flavor = { id: string; name: string; vcpus: number; ramMb: number; diskGb: number };
interface Ctx {
  client: AsterClient;
  pool: Pool;
  virsh: Virsh;
  events: ReturnType<typeof lifecycleEvents>;
  watch: ReturnType<typeof watcher>;
  net: Awaited<ReturnType<typeof rawNetwork>>;
  work: string;
  stateDir: string;
  /** The agent's cache file of the image: the raw guests' base too, and what a cold run deletes. */
  base: string;
  imageId: string;
  flavor: Flavor;
  signal: AbortSignal;
}

/**
 * `npm run bench:boot`: real guests through libvirt on a throwaway stack. The same image is booted (a) by
 * hand, `virsh define` + `start` of an equivalent domain, and (b) by `servers.create`; each to the guest's
 * banner on its serial log. Progress goes to stderr; the last line of stdout is one JSON object.
 *
 * createToStartedMs: from the moment `servers.create` answered to the moment the guest's CPU runs: libvirt's
 * Resumed event (Aster starts a domain paused and resumes it once its DHCP entry is in; raw runs use Started).
 * overheadMs: createToStartedMs minus the raw runs' median defineToStartedMs (define + start by hand), i.e.
 * what Aster adds on top of what libvirt itself takes. toBannerMs: Aster from the request being sent, raw
 * from `virsh define`; ratioToBanner divides the two medians.
 */
export async function benchBoot(): Promise<number> {
  const runs = runsSetting();
  const began = Date.now();
  const settings = readLauncherEnv();
  const env = inheritedEnv();
  const work = mkdtempSync('/tmp/aster-bench-boot-');
  chmodSync(work, 0o755); // Postgres and QEMU run as their own users and must reach it.
  mkdirSync(join(work, 'logs'));
  const stateDir = join(work, 'compute');
  const virsh = new Virsh();
  const aborter = new AbortController();
  let pg: LocalPostgres | undefined;
  let stack: Stack | undefined;
  let pool: Pool | undefined;
  let watch: ReturnType<typeof watcher> | undefined;
  let events: ReturnType<typeof lifecycleEvents> | undefined;
  let net: Ctx['net'] | undefined;
  let finished = false;
  let cleaned: Promise<void> | undefined;
  const cleanup = () =>
    (cleaned ??= (async () => {
      aborter.abort();
      watch?.close();
      await pool?.end().catch(() => {});
      await stack?.stop().catch((e: unknown) => say(`stopping the stack: ${String(e)}`));
      await pg?.stop().catch((e: unknown) => say(`stopping Postgres: ${String(e)}`));
      const left = removeDomainsUnder(work);
      if (left.length) say(`removed ${left.length} domain(s) left behind: ${left.join(', ')}`);
      await net?.close();
      events?.stop();
      if (finished) rmSync(work, { recursive: true, force: true });
      else say(`logs kept in ${join(work, 'logs')}`);
    })());
  const onSignal = () => void cleanup().then(() => process.exit(130));
  process.once('SIGINT', onSignal);
  process.once('SIGTERM', onSignal);

  try {
    say('compute host: libvirt and the guest image …');
    const compute = await prepareComputeHost(dataDir(settings.ASTER_DATA_DIR), env, say);
    pg = await startLocalPostgres({ dir: work, port: await freePort(), bin: settings.ASTER_PG_BIN, logFile: join(work, 'logs', 'postgres.log') });
    const password = randomBytes(12).toString('base64url');
    const { computeUrl, proxyUrl } = await prepareDatabase(pg.url, password, {
      roles: { dir: work },
      guestImage: { imageDir: join(work, 'images'), built: compute.guest },
      // Below the raw guests' addresses (.250-.253), above what an Aster running on this machine hands out first.
      publicPool: { allocationStart: '192.168.122.200', allocationEnd: '192.168.122.249' },
    });
    const ports = { api: await freePort(), proxy: await freePort(), web: await freePort(), metadata: await freePort() };
    say('starting the stack …');
    stack = await startStack(
      {
        root,
        databaseUrl: pg.url,
        computeDatabaseUrl: computeUrl,
        proxyDatabaseUrl: proxyUrl,
        host: '127.0.0.1',
        ports,
        logDir: join(work, 'logs'),
        logLevel: 'info',
        env,
        secrets: { metadata: randomBytes(32).toString('base64url'), service: randomBytes(32).toString('base64url') },
        compute: { stateDir, probeImage: compute.guest.path },
      },
      say,
    );
    const url = `http://127.0.0.1:${ports.api}`;
    const client = createAsterClient({ url, token: (await login({ url, username: 'admin', password })).token });
    pool = createPool({ connectionString: pg.url, max: 2 });
    const image = (await client.images.list.query({})).find((i) => i.name === 'aster-tiny' && i.status === 'active');
    const flavor = (await client.flavors.list.query({})).find((f) => f.name === 'm1.tiny');
    if (!image || !flavor) throw new Error('the stack has no active image aster-tiny or no flavor m1.tiny');
    net = await rawNetwork(virsh);
    events = lifecycleEvents();
    watch = watcher(client);
    await Promise.all([watch.ready, sleep(1000)]); // virsh says nothing once subscribed: give it a moment
    const base = join(stateDir, 'images', `${compute.guest.sha256}.qcow2`);
    const ctx: Ctx = { client, pool, virsh, events, watch, net, work, stateDir, base, imageId: image.id, flavor, signal: aborter.signal };

    say('warm-up: one server through the API (it also puts the image in the host cache; not counted) …');
    const warm = await asterRun(ctx, 'warmup', false);
    const domainType = /<domain type='(\w+)'/.exec(warm.xml)?.[1] === 'kvm' ? 'kvm' : 'qemu';

    // Interleaved, so that whatever else the machine does falls on both alike.
    const plan: ('raw' | 'cached' | 'cold')[] = [];
    for (let i = 0; i < Math.max(runs.raw, runs.cached, runs.cold); i++) {
      if (i < runs.raw) plan.push('raw');
      if (i < runs.cached) plan.push('cached');
      if (i < runs.cold) plan.push('cold');
    }
    const raw: Awaited<ReturnType<typeof rawRun>>[] = [];
    const aster = { cached: [] as Awaited<ReturnType<typeof asterRun>>[], cold: [] as Awaited<ReturnType<typeof asterRun>>[] };
    for (const [n, kind] of plan.entries()) {
      const r = kind === 'raw' ? await rawRun(ctx, n, domainType) : await asterRun(ctx, `${kind}-${n}`, kind === 'cold');
      if ('defineToStartedMs' in r) raw.push(r);
      else aster[kind as 'cached' | 'cold'].push(r);
      const took = 'defineToStartedMs' in r ? `define→started ${r.defineToStartedMs} ms` : `create→started ${r.createToStartedMs} ms, →ACTIVE ${r.createToActiveMs} ms`;
      const odd = r.gotItsAddress ? '' : ', the guest did not get the address it was given';
      say(`${n + 1}/${plan.length} ${kind}: ${took}, →banner ${r.toBannerMs} ms (metadata from ${r.source}${odd})`);
    }

    const rawStarted = p50(raw.map((r) => r.defineToStartedMs));
    const guest = (list: { source: string; gotItsAddress: boolean }[]) => ({
      metadataSources: tally(list.map((r) => r.source)),
      // false: dnsmasq gave the guest another address than its DHCP entry says, so the metadata service cannot know it.
      gotItsAddress: tally(list.map((r) => String(r.gotItsAddress))),
    });
    const summary = (list: typeof aster.cached) => ({
      createCallMs: percentiles(list.map((r) => r.createCallMs)),
      createToStartedMs: percentiles(list.map((r) => r.createToStartedMs)),
      overheadMs: percentiles(list.map((r) => r.createToStartedMs - rawStarted)),
      createToActiveMs: percentiles(list.map((r) => r.createToActiveMs)),
      toBannerMs: percentiles(list.map((r) => r.toBannerMs)),
      startedToBannerMs: percentiles(list.map((r) => r.startedToBannerMs)),
      // Per event of the create action, ms after the action began, as Postgres recorded them (on arrival).
      phasesP50Ms: phaseMedians(list.map((r) => r.phases)),
      ...guest(list),
    });
    const cached = summary(aster.cached);
    const cold = summary(aster.cold);
    const rawBanner = p50(raw.map((r) => r.toBannerMs));
    const ratio = (ms: number) => Math.round((ms / rawBanner) * 1000) / 1000;
    const ratioToBanner = { cached: ratio(cached.toBannerMs.p50), cold: ratio(cold.toBannerMs.p50) };
    const stamps = [...raw, ...aster.cached, ...aster.cold].map((r) => r.started);
    const figures = {
      benchmark: 'boot',
      runs: { ...runs, warmup: 1, order: 'raw, cached, cold, raw, cached, cold, …', domainType, flavor: { name: flavor.name, vcpus: flavor.vcpus, ramMb: flavor.ramMb, diskGb: flavor.diskGb } },
      raw: {
        defineToStartedMs: percentiles(raw.map((r) => r.defineToStartedMs)),
        startCallMs: percentiles(raw.map((r) => r.startCallMs)),
        toBannerMs: percentiles(raw.map((r) => r.toBannerMs)),
        startedToBannerMs: percentiles(raw.map((r) => r.startedToBannerMs)),
        ...guest(raw),
      },
      aster: { cached, cold },
      ratioToBanner,
      clock: {
        started: "libvirt's Started event for raw domains and Resumed for Aster's (started paused, resumed once plugged), timed by `virsh event --timestamp` (its arrival here where that did not parse)",
        stamped: `${stamps.filter((s) => s.stamped).length}/${stamps.length}`,
        eventArrivalLagMs: percentiles(stamps.filter((s) => s.stamped).map((s) => s.arrival - s.at)),
        bannerPollMs: 50,
      },
      goals: {
        overheadP50Ms: { cached: 300, cold: 1000 },
        ratioToBanner: 1.05,
        met: {
          overheadCached: cached.overheadMs.p50 <= 300,
          overheadCold: cold.overheadMs.p50 <= 1000,
          createToStartedCached: cached.createToStartedMs.p50 <= 300,
          createToStartedCold: cold.createToStartedMs.p50 <= 1000,
          ratioCached: ratioToBanner.cached <= 1.05,
          ratioCold: ratioToBanner.cold <= 1.05,
        },
      },
      seconds: Math.round((Date.now() - began) / 1000),
    };
    process.stdout.write(JSON.stringify(figures) + '\n');
    finished = true;
    return 0;
  } finally {
    await cleanup();
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
  }
}

/** One server created through the API, watched to ACTIVE and its banner, then deleted and gone from libvirt. */
async function asterRun(c: Ctx, label: string, cold: boolean) {
  if (cold) await rm(c.base, { force: true });
  else if (label !== 'warmup' && !existsSync(c.base)) throw new Error(`${c.base} is gone before a cached run`);
  const sent = Date.now();
  const [server] = await c.client.servers.create.mutate({ name: `boot-${label}`, flavorId: c.flavor.id, imageId: c.imageId });
  const accepted = Date.now();
  const id = server!.id;
  const domain = `aster-${id}`;
  const [active, started, shown] = await Promise.all([
    c.watch.until(id, 'ACTIVE').then((s) => ({ at: Date.now(), ip: Object.values(s.addresses)[0]?.[0]?.ip })),
    // Aster starts a domain paused and resumes it once its address is reserved: the guest runs from Resumed.
    c.events.waitFor(domain, 'Resumed'),
    banner(join(c.stateDir, 'instances', id, 'console.log'), id, c.signal),
  ]);
  if (!shown.named) say(`  ${label}: the banner names instance ${shown.instance}, not ${id}`);
  const xml = label === 'warmup' ? await c.virsh.run(['dumpxml', domain]) : '';
  const phases = await c.pool.query<{ event: string; ms: number }>(
    `SELECT e.event, extract(epoch FROM coalesce(e.finished_at, e.started_at) - a.started_at) * 1000 AS ms
       FROM instance_actions a JOIN instance_action_events e ON e.action_id = a.id
      WHERE a.instance_id = $1 AND a.action = 'create'`,
    [id],
  );
  await c.client.servers.delete.mutate({ id });
  await c.watch.until(id, 'DELETED');
  await c.events.waitFor(domain, 'Undefined');
  return {
    createCallMs: accepted - sent,
    createToStartedMs: started.at - accepted,
    createToActiveMs: active.at - accepted,
    toBannerMs: shown.at - sent,
    startedToBannerMs: shown.at - started.at,
    source: shown.source,
    gotItsAddress: shown.ip === active.ip,
    started,
    phases: Object.fromEntries(phases.rows.map((r) => [r.event, Number(r.ms)])),
    xml,
  };
}

/**
 * The same guest by hand: an overlay on the same cached base, a config drive, a DHCP entry, and the XML the
 * driver writes (domainXml). Disk and config drive are made before the clock starts at `virsh define`.
 */
async function rawRun(c: Ctx, n: number, domainType: 'kvm' | 'qemu') {
  const id = randomUUID();
  const dir = join(c.work, 'raw', String(n));
  const doc = JSON.stringify({ uuid: id, hostname: `raw-${n}`, name: `raw-${n}`, launch_index: 0, availability_zone: 'nova', project_id: 'bench' });
  await mkdir(join(dir, 'cd', 'openstack', 'latest'), { recursive: true });
  await writeFile(join(dir, 'cd', 'openstack', 'latest', 'meta_data.json'), doc);
  const configDrive = join(dir, 'disk.config');
  await exec('genisoimage', ['-quiet', '-o', configDrive, '-ldots', '-allow-lowercase', '-allow-multidot', '-l', '-V', 'config-2', '-r', '-J', join(dir, 'cd')]);
  const disk = join(dir, 'disk');
  const size = c.flavor.diskGb > 0 ? `${c.flavor.diskGb}G` : (JSON.parse((await exec('qemu-img', ['info', '-U', '--output=json', c.base])).stdout) as { 'virtual-size': number })['virtual-size'];
  await exec('qemu-img', ['create', '-q', '-f', 'qcow2', '-F', 'qcow2', '-b', c.base, disk, String(size)]);
  const name = `bench-boot-raw-${id.slice(0, 8)}`;
  const consoleLog = join(dir, 'console.log');
  const xml = domainXml({
    id,
    name,
    title: 'boot benchmark baseline',
    domainType,
    vcpus: c.flavor.vcpus,
    memoryMb: c.flavor.ramMb,
    disk: { path: disk, format: 'qcow2' },
    configDrive,
    nics: [{ id: '', networkId: '', mac: c.net.mac, bridge: 'virbr0', ip: c.net.ip, mtu: 1500, external: true, metadata: null }],
    consoleHost: '127.0.0.1',
    serialPort: await freePort(),
    consoleLog,
    aster: { host: 'bench-boot-raw', projectId: 'bench', flavorId: c.flavor.id, flavorName: c.flavor.name, imageId: c.imageId },
  });
  c.net.serve(doc);
  await c.net.keepFirst();
  const keeper = setInterval(() => void c.net.keepFirst().catch(() => {}), 500); // an agent started meanwhile puts its rule on top
  let defined = false;
  try {
    const t0 = Date.now();
    await c.virsh.withXml(['define'], xml);
    defined = true;
    const startCall = Date.now();
    await c.virsh.run(['start', name], { timeoutMs: 120_000 });
    const startCallMs = Date.now() - startCall;
    const [started, shown] = await Promise.all([c.events.waitFor(name, 'Started'), banner(consoleLog, id, c.signal)]);
    if (!shown.named) say(`  raw: the banner names instance ${shown.instance}, not ${id}`);
    return { defineToStartedMs: started.at - t0, startCallMs, toBannerMs: shown.at - t0, startedToBannerMs: shown.at - started.at, source: shown.source, gotItsAddress: shown.ip === c.net.ip, started };
  } finally {
    clearInterval(keeper);
    if (defined) {
      await c.virsh.run(['destroy', name]).catch(() => {});
      await c.virsh.run(['undefine', name]);
      await c.events.waitFor(name, 'Undefined');
    }
    await rm(dir, { recursive: true, force: true });
  }
}

/**
 * The raw guests' network: one DHCP entry at the top of the range (.250-.253, none Aster's IPAM hands out
 * first), a metadata answer on the bridge, and a DNAT from 169.254.169.254 for that guest's address only,
 * put before the agent's rule. Without it the raw guest would wait 30 s for metadata.
 */
async function rawNetwork(virsh: Virsh) {
  const xml = await virsh.run(['net-dumpxml', 'default']);
  const bridge = /<bridge name='([^']+)'/.exec(xml)?.[1] ?? 'virbr0';
  const gateway = /<ip address='([\d.]+)'/.exec(xml)?.[1] ?? '192.168.122.1';
  const ip = [250, 251, 252, 253].map((n) => gateway.replace(/\.\d+$/, `.${n}`)).find((a) => !xml.includes(`'${a}'`));
  if (!ip) throw new Error(`the addresses .250-.253 next to ${gateway} are all reserved; the raw guest needs one`);
  // A lease left on it by an earlier run's raw guest would keep dnsmasq from giving it to this one.
  const release = (m: string) => exec('dhcp_release', [bridge, ip, m]).catch(() => {});
  for (const lease of parseLeases(await virsh.run(['net-dhcp-leases', 'default']).catch(() => ''))) if (lease.ip === ip) await release(lease.mac);
  const mac = `52:54:00:${randomBytes(3).toString('hex').match(/../g)!.join(':')}`;
  const entry = ['ip-dhcp-host', `<host mac='${mac}' ip='${ip}'/>`, '--live', '--config'];
  let doc = '{}';
  const server = createServer((req, res) => {
    const ok = req.url === '/openstack/latest/meta_data.json';
    res.writeHead(ok ? 200 : 404, { 'content-type': ok ? 'application/json' : 'text/plain' }).end(ok ? doc : 'not found');
  });
  let rule: string[] | null = null;
  let dhcp = false;
  const close = async () => {
    if (dhcp) await virsh.run(['net-update', 'default', 'delete', ...entry]).catch((e: unknown) => say(`removing the DHCP entry: ${String(e)}`));
    await release(mac);
    for (let i = 0; rule && i < 5 && (await iptables(['-C', 'PREROUTING', ...rule]).then(() => true, () => false)); i++) {
      await iptables(['-D', 'PREROUTING', ...rule]).catch((e: unknown) => say(`removing the DNAT rule: ${String(e)}`));
    }
    server.close();
  };
  try {
    await virsh.run(['net-update', 'default', 'add-last', ...entry]);
    dhcp = true;
    const port = await new Promise<number>((resolve, reject) => {
      server.once('error', reject).listen(0, gateway, () => resolve((server.address() as { port: number }).port));
    });
    const tag = `aster-bench-boot-${process.pid}`;
    rule = ['-i', bridge, '-s', `${ip}/32`, '-d', '169.254.169.254/32', '-p', 'tcp', '--dport', '80', '-m', 'comment', '--comment', tag, '-j', 'DNAT', '--to-destination', `${gateway}:${port}`];
    await iptables(['-I', 'PREROUTING', '1', ...rule]);
    const ours = rule;
    let busy = false;
    const keepFirst = async () => {
      if (busy) return;
      busy = true;
      try {
        const first = (await iptables(['-S', 'PREROUTING'])).split('\n').find((l) => l.startsWith('-A '));
        if (first?.includes(`--comment ${tag} `)) return;
        await iptables(['-D', 'PREROUTING', ...ours]).catch(() => {});
        await iptables(['-I', 'PREROUTING', '1', ...ours]);
      } finally {
        busy = false;
      }
    };
    return { ip, mac, serve: (d: string) => void (doc = d), keepFirst, close };
  } catch (error) {
    await close();
    throw error;
  }
}


const iptables = async (args: string[]) => (await exec('iptables', ['-w', '5', '-t', 'nat', ...args])).stdout;

const tally = (xs: string[]) => xs.reduce<Record<string, number>>((t, x) => ({ ...t, [x]: (t[x] ?? 0) + 1 }), {});

/** The median of each event's time over the runs, ordered by it. */
function phaseMedians(runs: Record<string, number>[]): Record<string, number> {
  const names = [...new Set(runs.flatMap((r) => Object.keys(r)))];
  const medians = names.map((n) => [n, Math.round(p50(runs.flatMap((r) => (r[n] === undefined ? [] : [r[n]!]))))] as const);
  return Object.fromEntries(medians.sort((a, b) => a[1] - b[1]));
}
