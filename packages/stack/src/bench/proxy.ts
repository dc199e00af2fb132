import { fork, spawn, type ChildProcess } from 'node:child_process';
import { randomBytes, randomUUID } from 'node:crypto';
import { chmodSync, existsSync, mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { join } from 'node:path';
import { hashConsoleToken } from '@aster/compute';
import { createPool, migrate } from '@aster/db';
import { grantConsoleTokenReader, PROXY_ROLE } from '../database.ts';
import { inheritedEnv } from '../env.ts';
import { root } from '../paths.ts';
import { freePort } from '../ports.ts';
import { startLocalPostgres, type LocalPostgres } from '../postgres.ts';
import { startService, waitReady, type RunningService, type ServiceSpec } from '../services.ts';
import { mb, percentiles, processTree, treeMemory, tryKill } from './measure.ts';
import { MiB, peersFile, type ClientAsk, type Ports, type StreamFigures } from './proxy-peers.ts';

const say = (line: string) => process.stderr.write(line + '\n');
const WEBSOCKIFY = '/usr/bin/websockify';

export const sizes = { streamBytes: 512 * MiB, echoes: 10_000, echoBytes: 64, sessions: 200, sessionBytes: 8 * MiB, streamRuns: 5, echoRounds: 10, warmupEchoes: 20_000, warmupRounds: 10 };

type Who = 'aster' | 'websockify';

const turns = (i: number): readonly Who[] => (i % 2 === 0 ? ['aster', 'websockify'] : ['websockify', 'aster']);
const ratio = (a: number, b: number) => Math.round((a / b) * 1000) / 1000;

/**
 * `npm run bench:proxy`: the console proxy beside websockify 0.10 (what Nova's novncproxy is built on), same
 * machine, same run. A throwaway Postgres holds the tokens; the console targets and the WebSocket clients run
 * in processes of their own, so each proxy's process tree is measured alone. The last stdout line is JSON.
 */
export async function benchProxy(): Promise<number> {
  if (!existsSync(WEBSOCKIFY)) {
    say(`${WEBSOCKIFY} is missing: apt-get install websockify`);
    return 1;
  }
  const work = mkdtempSync('/tmp/aster-bench-proxy-');
  chmodSync(work, 0o755); // Postgres runs as user postgres
  mkdirSync(join(work, 'logs'));
  const children: ChildProcess[] = [];
  const groups: ChildProcess[] = [];
  let pg: LocalPostgres | undefined;
  let proxy: RunningService | undefined;
  // Ctrl-C or a kill must not leave a Postgres, a proxy or websockify's forks behind.
  const killAll = () => {
    for (const c of children) c.kill('SIGKILL');
    for (const g of groups) if (g.pid && g.exitCode === null) tryKill(-g.pid, 'SIGKILL');
    if (proxy?.child.pid && proxy.child.exitCode === null) tryKill(-proxy.child.pid, 'SIGKILL');
    if (pg?.pid) tryKill(pg.pid, 'SIGQUIT');
  };
  const onSignal = () => {
    killAll();
    rmSync(work, { recursive: true, force: true });
    process.exit(130);
  };
  process.once('SIGINT', onSignal);
  process.once('SIGTERM', onSignal);
  process.once('exit', killAll);
  try {
    say('starting Postgres, the console targets, the Aster console proxy and websockify…');
    pg = await startLocalPostgres({ dir: work, port: await freePort(), logFile: join(work, 'logs', 'postgres.log') });
    const ports = await reply<Ports>(forkRole('target', children));
    const { proxyUrl, tokens } = await prepareTokens(pg.url, ports);
    const asterPort = await freePort();
    const spec: ServiceSpec = {
      name: 'proxy',
      cwd: join(root, 'apps/proxy'),
      command: process.execPath,
      args: ['--import', 'tsx', join(root, 'apps/proxy/src/main.ts')],
      env: { ...inheritedEnv(), DATABASE_URL: proxyUrl, ASTER_PROXY_PORT: String(asterPort), ASTER_LOG_LEVEL: 'info', NODE_ENV: 'production' },
      logFile: join(work, 'logs', 'proxy.log'),
      ready: { log: true },
    };
    proxy = startService(spec, say);
    await waitReady(proxy, spec, 60_000);
    const wsPorts = { stream: await freePort(), echo: await freePort() };
    const wsify = startWebsockify(wsPorts.stream, ports.stream, work, groups);
    startWebsockify(wsPorts.echo, ports.echo, work, groups);
    await Promise.all(Object.values(wsPorts).map((p) => waitListening(p)));

    const client = forkRole('client', children);
    const ask = <T>(q: ClientAsk) => {
      client.send(q);
      return reply<T>(client);
    };
    const urls: Record<Who, { stream: string; echo: string }> = {
      aster: { stream: `ws://127.0.0.1:${asterPort}/?token=${tokens.stream}`, echo: `ws://127.0.0.1:${asterPort}/?token=${tokens.echo}` },
      websockify: { stream: `ws://127.0.0.1:${wsPorts.stream}/`, echo: `ws://127.0.0.1:${wsPorts.echo}/` },
    };
    const pids: Record<Who, number> = { aster: proxy.child.pid!, websockify: wsify.pid! };
    const idleRssMb = { aster: mb(treeMemory(pids.aster).rss), websockify: mb(treeMemory(pids.websockify).rss) };
    const echo = (who: Who, count: number) => ask<number[]>({ kind: 'echo', url: urls[who].echo, count, size: sizes.echoBytes });
    const stream = (who: Who, sessions: number, bytes: number) => ask<StreamFigures>({ kind: 'stream', url: urls[who].stream, sessions, bytes });

    // Both warm up alike, in sessions like the measured ones: a JIT (Node's) optimises the message path over
    // the first ~10,000 messages, and its compiler threads compete for this machine's 2 cores meanwhile.
    // Rounds alternate (and which goes first), so a neighbour's burst on this shared machine hits both alike.
    say('warming up…');
    for (let round = 0; round < sizes.warmupRounds; round++) {
      for (const who of turns(round)) {
        await echo(who, sizes.warmupEchoes / sizes.warmupRounds);
        await stream(who, 2, sizes.sessionBytes);
      }
    }

    say(`(b) ${sizes.echoes} sequential ${sizes.echoBytes}-byte echoes each, in ${sizes.echoRounds} alternating rounds…`);
    const rtts: Record<Who, number[]> = { aster: [], websockify: [] };
    for (let round = 0; round < sizes.echoRounds; round++) {
      for (const who of turns(round)) rtts[who].push(...(await echo(who, sizes.echoes / sizes.echoRounds)));
    }
    const echoes = { aster: percentiles(rtts.aster), websockify: percentiles(rtts.websockify) };
    for (const who of turns(0)) say(`  ${who}: p50 ${echoes[who].p50} µs, p99 ${echoes[who].p99} µs`);

    say(`(c) ${sizes.sessions} concurrent sessions × ${sizes.sessionBytes / MiB} MiB, all open before any streams…`);
    const concurrent = {} as Record<Who, StreamFigures & { peakRssMb: number; peakPssMb: number; peakProcesses: number }>;
    for (const who of turns(0)) {
      const sampler = sampleMemory(pids[who]);
      const c = await stream(who, sizes.sessions, sizes.sessionBytes);
      const peak = sampler.stop();
      concurrent[who] = { ...c, peakRssMb: mb(peak.rss), peakPssMb: mb(peak.pss), peakProcesses: peak.processes };
      say(`  ${who}: ${c.mibPerSec} MiB/s, ${c.deliveredMiB} of ${c.expectedMiB} MiB delivered, peak RSS ${mb(peak.rss)} MB over ${peak.processes} processes`);
    }

    say(`(a) one session streaming ${sizes.streamBytes / MiB} MiB, ${sizes.streamRuns} alternating runs each…`);
    const runs: Record<Who, StreamFigures[]> = { aster: [], websockify: [] };
    for (let i = 0; i < sizes.streamRuns; i++) {
      for (const who of turns(i)) {
        const r = await stream(who, 1, sizes.streamBytes);
        runs[who].push(r);
        say(`  ${who}: ${r.mibPerSec} MiB/s (${r.deliveredMiB} MiB delivered)`);
      }
    }
    const single = (who: Who) => {
      const rates = runs[who].map((r) => r.mibPerSec);
      return { mibPerSec: [...rates].sort((x, y) => x - y)[Math.floor(rates.length / 2)]!, runs: rates, allDelivered: runs[who].every((r) => r.allDelivered) };
    };
    const figures = (who: Who) => ({ stream: single(who), echo: { p50Us: echoes[who].p50, p99Us: echoes[who].p99, n: echoes[who].n }, concurrent: concurrent[who], idleRssMb: idleRssMb[who] });
    const aster = figures('aster');
    const websockify = figures('websockify');
    const ratios = {
      throughput: ratio(aster.stream.mibPerSec, websockify.stream.mibPerSec),
      p99Rtt: ratio(aster.echo.p99Us, websockify.echo.p99Us),
      p50Rtt: ratio(aster.echo.p50Us, websockify.echo.p50Us),
      concurrentThroughput: ratio(aster.concurrent.mibPerSec, websockify.concurrent.mibPerSec),
      memory: ratio(aster.concurrent.peakRssMb, websockify.concurrent.peakRssMb),
      memoryPss: ratio(aster.concurrent.peakPssMb, websockify.concurrent.peakPssMb),
    };
    const goals = { throughput: ratios.throughput >= 1, p99Rtt: ratios.p99Rtt <= 1, concurrentThroughput: ratios.concurrentThroughput >= 1, memory: ratios.memory <= 0.1 };
    say(`Aster ÷ websockify: ${JSON.stringify(ratios)}; goals met: ${JSON.stringify(goals)}`);
    process.stdout.write(JSON.stringify({ sizes, aster, websockify, ratios, goals }) + '\n');
    return 0;
  } catch (error) {
    say(`bench:proxy failed: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}`);
    return 1;
  } finally {
    for (const c of children) c.kill('SIGTERM');
    for (const g of groups) if (g.pid && g.exitCode === null) tryKill(-g.pid, 'SIGTERM');
    await proxy?.stop().catch(() => {});
    await pg?.stop().catch(() => {});
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
    process.off('exit', killAll);
    rmSync(work, { recursive: true, force: true });
  }
}


/** Migrates the scratch database, seeds one running server with two consoles, and gives the proxy its role. */
async function prepareTokens(url: string, ports: Ports) {
  const pool = createPool({ connectionString: url, max: 2, applicationName: 'aster-bench' });
  try {
    await migrate(pool);
    const project = (await pool.query<{ id: string }>(`INSERT INTO projects (name) VALUES ('bench') RETURNING id`)).rows[0]!.id;
    const user = (await pool.query<{ id: string }>(`INSERT INTO users (name, password_hash) VALUES ('bench', 'x') RETURNING id`)).rows[0]!.id;
    const instance = randomUUID();
    await pool.query(
      `INSERT INTO instances (id, project_id, user_id, name, hostname, flavor_id, flavor, image_id, image, vm_state, power_state, host, reservation_id)
       VALUES ($1, $2, $3, 'bench', 'bench', gen_random_uuid(), '{}', gen_random_uuid(), '{}', 'active', 1, 'bench-host', 'r-bench')`,
      [instance, project, user],
    );
    const issue = async (port: number) => {
      const token = randomBytes(32).toString('base64url');
      await pool.query(
        `INSERT INTO console_tokens (token_hash, instance_id, console_type, host, target_host, target_port, user_id, project_id, expires_at)
         VALUES ($1, $2, 'novnc', 'bench-host', '127.0.0.1', $3, $4, $5, now() + interval '1 hour')`,
        [hashConsoleToken(token), instance, port, user, project],
      );
      return token;
    };
    // The proxy's own role, as in a deployment: it may read the view console_token_targets and nothing else.
    const password = randomBytes(18).toString('base64url');
    await grantConsoleTokenReader(pool, { role: PROXY_ROLE, password, database: decodeURIComponent(new URL(url).pathname.slice(1)) });
    const u = new URL(url);
    u.username = PROXY_ROLE;
    u.password = password;
    return { proxyUrl: u.toString(), tokens: { stream: await issue(ports.stream), echo: await issue(ports.echo) } };
  } finally {
    await pool.end();
  }
}

function startWebsockify(port: number, targetPort: number, work: string, groups: ChildProcess[]): ChildProcess {
  // Its own process group: it forks one process per session, and all of them are stopped together.
  const child = spawn(WEBSOCKIFY, [`127.0.0.1:${port}`, `127.0.0.1:${targetPort}`], { stdio: 'ignore', detached: true, cwd: work });
  groups.push(child);
  return child;
}

async function waitListening(port: number): Promise<void> {
  const deadline = Date.now() + 20_000;
  for (;;) {
    const ok = await new Promise<boolean>((resolve) => {
      const s = createServer();
      s.once('error', () => resolve(true)); // taken: someone listens
      s.listen(port, '127.0.0.1', () => s.close(() => resolve(false)));
    });
    if (ok) return;
    if (Date.now() > deadline) throw new Error(`nothing listens on ${port} after 20 s`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

/** Peak memory of a process tree, sampled every 50 ms (websockify forks one process per session). */
function sampleMemory(pid: number) {
  const peak = { rss: 0, pss: 0, processes: 0 };
  const sample = () => {
    const m = treeMemory(pid);
    if (m.rss > peak.rss) peak.rss = m.rss;
    if (m.pss > peak.pss) peak.pss = m.pss;
    peak.processes = Math.max(peak.processes, processTree(pid).length);
  };
  sample();
  const timer = setInterval(sample, 50);
  return {
    stop() {
      clearInterval(timer);
      sample();
      return peak;
    },
  };
}

function forkRole(role: 'target' | 'client', children: ChildProcess[]): ChildProcess {
  const child = fork(peersFile, [role], { execArgv: ['--import', 'tsx'], stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
  children.push(child);
  return child;
}

function reply<T>(child: ChildProcess): Promise<T> {
  return new Promise((resolve, reject) => {
    const onExit = (code: number | null) => reject(new Error(`the bench's ${child.spawnargs.at(-1)} process exited (${code})`));
    child.once('exit', onExit);
    child.once('message', (m: { ok: T } | { error: string }) => {
      child.off('exit', onExit);
      if ('error' in m) reject(new Error(m.error));
      else resolve(m.ok);
    });
  });
}
