'use client';

import { useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import { useId, useState, type FormEvent } from 'react';
import { useTRPC } from '@/lib/trpc';
import { describedBy, Field } from '@/components/ui/form';
import { ErrorAlert } from '@/components/ui/query-state';
import ui from '@/components/ui/ui.module.css';
import { draftProblems, emptyDraft, explainInput, hopLabel, OUTSIDE, quotedParts, afterVerdict, VERDICT_LABEL, type ConnectivityDraft, type Explanation } from './connectivity';
import { serverPortsInput } from './inputs';
import styles from './networking.module.css';

function Quoted({ text }: { text: string }) {
  return (
    <>
      {quotedParts(text).map((p, i) => (p.code ? <code key={i}>{p.text}</code> : <span key={i}>{p.text}</span>))}
    </>
  );
}

const HOP_CLASS: Record<Explanation['hops'][number]['kind'], string | undefined> = { switch: styles.hopSwitch, router: styles.hopRouter, acl: styles.hopAcl, nat: styles.hopNat };

const VERDICT_CLASS: Record<Explanation['verdict'], string | undefined> = { allowed: styles.up, dropped: styles.bad, 'no-route': styles.warn };

/** The answer: the verdict and its reason in a sentence, the hops as a path, and (administrators only) ovn-trace's text. */
function Verdict({ result }: { result: Explanation }) {
  return (
    <div className={styles.verdict} role="status" aria-label="Connectivity verdict">
      <p>
        <span className={`${styles.pill} ${VERDICT_CLASS[result.verdict]}`}>{VERDICT_LABEL[result.verdict]}</span> <Quoted text={afterVerdict(result.verdict, result.reason)} />
      </p>
      {result.hops.length ? (
        <ol className={styles.path} aria-label="Path">
          {result.hops.map((h, i) => (
            <li key={i} className={HOP_CLASS[h.kind]} title={h.detail}>
              {hopLabel(h)}
            </li>
          ))}
        </ol>
      ) : null}
      {result.trace ? (
        <details className={styles.trace}>
          <summary>ovn-trace output (administrators)</summary>
          <pre>{result.trace}</pre>
        </details>
      ) : null}
    </div>
  );
}

/**
 * "Can it get through?": this server and another end (a server of the project, a floating IP, or an address
 * outside), a protocol and a port, answered by networks.explainConnectivity from OVN's own packet tracing.
 */
export function TestConnectivity({ server }: { server: { id: string; name: string } }) {
  const trpc = useTRPC();
  const queryClient = useQueryClient();
  const id = useId();
  const [d, setD] = useState<ConnectivityDraft>(emptyDraft);
  const [tried, setTried] = useState(false);
  const servers = useQuery(trpc.servers.list.queryOptions({ limit: 200 }));
  const ips = useQuery(trpc.floatingIps.list.queryOptions());
  const ports = useQuery(trpc.ports.list.queryOptions(serverPortsInput(server.id)));
  // The networks this server has a port on, in the API's order (its first port is the default end).
  const networks = [...new Map((ports.data ?? []).map((p) => [p.networkId, { id: p.networkId, name: p.networkName }])).values()];
  // A query run on demand: every press traces again (the rules may have changed since).
  const explain = useMutation({
    mutationFn: (input: ReturnType<typeof explainInput>) => queryClient.fetchQuery({ ...trpc.networks.explainConnectivity.queryOptions(input), staleTime: 0, retry: false }),
  });
  const set = (change: Partial<ConnectivityDraft>) => setD((old) => ({ ...old, ...change }));
  const problems = tried ? draftProblems(d) : {};
  const submit = (event: FormEvent) => {
    event.preventDefault();
    setTried(true);
    if (Object.keys(draftProblems(d)).length) return;
    explain.mutate(explainInput(server.id, d));
  };
  const others = (servers.data?.servers ?? []).filter((s) => s.id !== server.id && s.status !== 'DELETED');
  const invalid = (key: 'port' | 'address') => ({ 'aria-invalid': problems[key] ? true : undefined, 'aria-describedby': describedBy(`${id}-${key}`, problems[key]) });
  const hasPort = d.protocol !== 'icmp';
  return (
    <section className={`${styles.section} ${styles.serverPorts}`} aria-labelledby={`${id}-heading`}>
      <h2 id={`${id}-heading`}>Test connectivity</h2>
      <p className={ui.muted}>Traces the first packet through the project&apos;s networks, routers and security groups, as OVN would forward it, and says which hop decides. Nothing is sent to the guest.</p>
      <form className={ui.form} onSubmit={submit} aria-label="Test connectivity" noValidate>
        <div className={styles.inline}>
          <Field id={`${id}-dir`} label="Direction">
            <select id={`${id}-dir`} value={d.direction} onChange={(e) => set({ direction: e.target.value as ConnectivityDraft['direction'] })}>
              <option value="to">To {server.name} from</option>
              <option value="from">From {server.name} to</option>
            </select>
          </Field>
          <div className={styles.grow}>
            <Field id={`${id}-other`} label={d.direction === 'to' ? 'Source' : 'Destination'} problem={problems.other}>
              <select id={`${id}-other`} value={d.other} onChange={(e) => set({ other: e.target.value })}>
                <option value={OUTSIDE}>The outside</option>
                {others.length ? (
                  <optgroup label="Servers of the project">
                    {others.map((s) => (
                      <option key={s.id} value={`server:${s.id}`}>
                        {s.name}
                      </option>
                    ))}
                  </optgroup>
                ) : null}
                {ips.data?.length ? (
                  <optgroup label="Floating IPs">
                    {ips.data.map((ip) => (
                      <option key={ip.id} value={`fip:${ip.floatingIp}`}>
                        {ip.floatingIp}
                        {ip.server ? ` (${ip.server.name})` : ip.portId ? ` (${ip.fixedIp ?? 'a port'})` : ' (not associated)'}
                      </option>
                    ))}
                  </optgroup>
                ) : null}
              </select>
            </Field>
          </div>
          {d.other === OUTSIDE ? (
            <Field id={`${id}-address`} label="Address outside" problem={problems.address}>
              <input id={`${id}-address`} value={d.address} size={15} onChange={(e) => set({ address: e.target.value })} autoComplete="off" {...invalid('address')} />
            </Field>
          ) : null}
          <Field id={`${id}-proto`} label="Protocol">
            <select id={`${id}-proto`} value={d.protocol} onChange={(e) => set({ protocol: e.target.value as ConnectivityDraft['protocol'] })}>
              <option value="tcp">TCP</option>
              <option value="udp">UDP</option>
              <option value="icmp">ICMP (ping)</option>
            </select>
          </Field>
          <Field id={`${id}-port`} label="Port" problem={hasPort ? problems.port : undefined}>
            <input id={`${id}-port`} inputMode="numeric" size={6} disabled={!hasPort} value={hasPort ? d.port : ''} onChange={(e) => set({ port: e.target.value })} {...invalid('port')} />
          </Field>
          {networks.length > 1 ? (
            <Field id={`${id}-net`} label={`${server.name}'s port on`}>
              <select id={`${id}-net`} value={d.networkId} onChange={(e) => set({ networkId: e.target.value })}>
                <option value="">{networks[0]!.name}</option>
                {networks.slice(1).map((n) => (
                  <option key={n.id} value={n.id}>
                    {n.name}
                  </option>
                ))}
              </select>
            </Field>
          ) : null}
          <button type="submit" disabled={explain.isPending} aria-busy={explain.isPending}>
            Test
          </button>
        </div>
        <ErrorAlert error={servers.error ?? ips.error} />
        <ErrorAlert error={explain.error} />
      </form>
      {explain.data && !explain.isPending && !explain.error ? <Verdict result={explain.data} /> : null}
    </section>
  );
}
