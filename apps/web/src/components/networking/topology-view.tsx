'use client';

import { useQuery } from '@tanstack/react-query';
import Link from 'next/link';
import { useTRPC } from '@/lib/trpc';
import { QueryState } from '@/components/ui/query-state';
import ui from '@/components/ui/ui.module.css';
import { LiveError } from './live-error';
import { useNetworkLive } from './live';
import styles from './networking.module.css';
import { COLUMNS, columnX, layoutTopology, NODE_H, NODE_W, type LaidEdge, type LaidNode } from './topology-layout';

const KIND_CLASS = { external: styles.external, router: styles.routerNode, network: styles.networkNode, server: styles.serverNode } as const;

/** Cuts a name to what fits in a node; the full name is the node's accessible name and tooltip. */
const fit = (text: string, max: number) => (text.length > max ? `${text.slice(0, max - 1)}…` : text);

function Edge({ edge }: { edge: LaidEdge }) {
  const x1 = edge.from.x + NODE_W;
  const y1 = edge.from.y + NODE_H / 2;
  const x2 = edge.to.x;
  const y2 = edge.to.y + NODE_H / 2;
  const bend = Math.max(40, (x2 - x1) / 2);
  const cls = [styles.edge, edge.down ? styles.edgeDown : '', edge.gateway ? styles.edgeGateway : ''].join(' ');
  // The address sits over the link's middle, between the two columns it joins.
  const lx = (x1 + x2) / 2;
  const ly = (y1 + y2) / 2 - 6;
  return (
    <g>
      <path className={cls} d={`M ${x1} ${y1} C ${x1 + bend} ${y1}, ${x2 - bend} ${y2}, ${x2} ${y2}`} />
      {edge.label ? (
        <text className={styles.edgeLabel} x={lx} y={ly} textAnchor="middle">
          {edge.label}
        </text>
      ) : null}
    </g>
  );
}

function Node({ node }: { node: LaidNode }) {
  const cls = [styles.node, KIND_CLASS[node.kind], node.bad ? styles.serverBad : ''].join(' ');
  return (
    <Link href={node.href} className={cls} aria-label={node.label} data-kind={node.kind}>
      <title>{node.label}</title>
      <rect x={node.x} y={node.y} width={NODE_W} height={NODE_H} rx={8} />
      <text className={styles.nodeName} x={node.x + 12} y={node.y + 22}>
        {fit(node.name, 24)}
      </text>
      <text className={styles.nodeSub} x={node.x + 12} y={node.y + 40}>
        {fit(node.detail, 30)}
      </text>
      {node.floating.length ? (
        <text className={styles.floating} x={node.x + NODE_W - 10} y={node.y + 22} textAnchor="end">
          {fit(node.floating[0]!, 16)}
        </text>
      ) : null}
    </Link>
  );
}

/**
 * Horizon's network topology, live: the project's external networks, routers, networks and servers, with the
 * links between them (router gateways, router interfaces, server ports; a port not ACTIVE is dashed). Each node
 * is a link to its page, named for screen readers; the same links are listed in words below the drawing.
 */
export function TopologyView() {
  const trpc = useTRPC();
  const live = useNetworkLive();
  const topology = useQuery(trpc.networks.topology.queryOptions());
  const laid = topology.data ? layoutTopology(topology.data) : null;
  return (
    <>
      <LiveError error={live.error} />
      <QueryState what="the topology" isPending={topology.isPending} error={topology.error} />
      {laid ? (
        <>
          <div className={styles.canvas}>
            <svg viewBox={`0 0 ${laid.width} ${laid.height}`} role="group" aria-label="Network topology">
              {COLUMNS.map((c, i) => (
                <text key={c.kind} className={styles.colHead} x={columnX(i) + 4} y={24} aria-hidden="true">
                  {c.title}
                </text>
              ))}
              <g aria-hidden="true">
                {laid.edges.map((e) => (
                  <Edge key={e.id} edge={e} />
                ))}
              </g>
              {laid.nodes.map((n) => (
                <Node key={`${n.kind}-${n.id}`} node={n} />
              ))}
            </svg>
          </div>
          <div className={styles.legend} aria-hidden="true">
            <span>Solid line: port ACTIVE</span>
            <span>Dashed line: port not bound yet or down</span>
            <span>Purple: external network, gateways and floating IPs</span>
          </div>
          <section className={styles.section} aria-labelledby="topology-links">
            <h2 id="topology-links">Connections</h2>
            {laid.edges.length ? (
              <ul aria-label="Connections">
                {laid.edges.map((e) => (
                  <li key={e.id}>{e.text}</li>
                ))}
              </ul>
            ) : (
              <p className={ui.muted}>Nothing is connected yet: create a network, then a router with a gateway and an interface on it.</p>
            )}
          </section>
        </>
      ) : null}
    </>
  );
}
