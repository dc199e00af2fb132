/**
 * OVN's own packet tracing: runs `ovn-trace` on the southbound logical flows and outlines its detailed output (the
 * stages a packet went through, each with its logical flow's match and actions) with a verdict: delivered to which
 * ports, or dropped (and at which stage). Debian's ovn-trace (23.03) reads the southbound database only (`--db`).
 */
import { execFile } from 'node:child_process';

export interface TraceOptions {
  /** The southbound database, `unix:/path` or `tcp:host:port`. */
  sbDb: string;
  /** The logical switch or router the packet enters (its NB name, e.g. `aster-<networkId>`). */
  datapath: string;
  /** The logical port it enters by (a port id, `lrp-<portId>`). */
  inport: string;
  /** The rest of the microflow, e.g. `eth.src == … && eth.dst == … && ip4.src == … && ip4.dst == … && ip.ttl == 64 && tcp.dst == 22`. */
  microflow: string;
  /** Connection tracking states, one per `ct_next` in turn (default: every one `new`, a connection's first packet). */
  ct?: string[];
  timeoutMs?: number;
}

export interface TraceStage {
  /** The datapath as ovn-trace names it (its southbound uuid). */
  datapath: string;
  pipeline: 'ingress' | 'egress';
  table: number;
  /** The stage's name: `ls_in_acl`, `lr_in_ip_routing`, … */
  stage: string;
  match: string;
  priority: number;
  actions: string[];
}

export type TraceVerdict =
  | { kind: 'output'; ports: string[] }
  | { kind: 'dropped'; at: TraceStage | null };

export interface TraceResult {
  text: string;
  stages: TraceStage[];
  verdict: TraceVerdict;
}

const HEADER = /^(ingress|egress)\(dp="([^"]*)"/;
const STAGE = /^\s*(\d+)\. (\S+) \([^)]*\): (.*), priority (\d+), uuid [0-9a-f]+$/;
const OUTPUT = /\/\* output to "([^"]+)", type "([^"]*)" \*\//;

/** Outlines ovn-trace's `--detailed` text. */
export function parseTrace(text: string): Omit<TraceResult, 'text'> {
  const stages: TraceStage[] = [];
  const ports: string[] = [];
  let datapath = '';
  let pipeline: TraceStage['pipeline'] = 'ingress';
  let current: TraceStage | null = null;
  for (const line of text.split('\n')) {
    const h = HEADER.exec(line);
    if (h) {
      pipeline = h[1] as TraceStage['pipeline'];
      datapath = h[2]!;
      current = null;
      continue;
    }
    const s = STAGE.exec(line);
    if (s) {
      current = { datapath, pipeline, table: Number(s[1]), stage: s[2]!, match: s[3]!, priority: Number(s[4]), actions: [] };
      stages.push(current);
      continue;
    }
    if (current && /^ {4}\S/.test(line)) {
      const action = line.trim();
      current.actions.push(action);
      const o = OUTPUT.exec(action);
      // A patch port hands the packet to the next datapath: not a delivery.
      if (o && o[2] !== 'patch') ports.push(o[1]!);
    } else if (!line.trim()) current = null;
  }
  const verdict: TraceVerdict = ports.length ? { kind: 'output', ports } : { kind: 'dropped', at: stages.at(-1) ?? null };
  return { stages, verdict };
}

export function ovnTrace(opts: TraceOptions): Promise<TraceResult> {
  const ct = opts.ct ?? Array<string>(8).fill('new');
  const args = [
    `--db=${opts.sbDb}`,
    '--detailed',
    '--no-friendly-names',
    ...ct.map((c) => `--ct=${c}`),
    opts.datapath,
    `inport == ${JSON.stringify(opts.inport)} && ${opts.microflow}`,
  ];
  return new Promise((resolve, reject) => {
    execFile('ovn-trace', args, { timeout: opts.timeoutMs ?? 10_000, maxBuffer: 16 * 1024 * 1024 }, (err, stdout, stderr) => {
      if (err) {
        reject(new Error(`ovn-trace failed: ${stderr.trim() || err.message}`));
        return;
      }
      resolve({ text: stdout, ...parseTrace(stdout) });
    });
  });
}
