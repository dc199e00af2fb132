'use client';

import Link from 'next/link';
import { Table } from '@/components/ui/table';
import { portOwner } from './format';
import styles from './networking.module.css';
import { StatusPill } from './status-pill';
import type { Port } from './types';

/** A network's ports: what holds each, its address and MAC, and whether OVN has bound it (ACTIVE). */
export function PortsTable({ ports, groupName }: { ports: Port[]; groupName: (id: string) => string }) {
  return (
    <Table label="Ports" columns={['Owner', 'Fixed IP', 'MAC', 'Status', 'Security groups', 'Floating IP']} empty={ports.length === 0 ? 'No ports on this network.' : null}>
      {ports.map((p) => (
        <tr key={p.id}>
          <td>{p.server ? <Link href={`/servers/${p.server.id}`}>{p.server.name}</Link> : portOwner(p)}</td>
          <td className={styles.mono}>{p.ip}</td>
          <td className={styles.mono}>{p.macAddress}</td>
          <td>
            <StatusPill status={p.status} />
          </td>
          <td>{p.portSecurityEnabled ? p.securityGroupIds.map(groupName).join(', ') || 'none' : 'port security off'}</td>
          <td className={styles.mono}>{p.floatingIp?.ip ?? '—'}</td>
        </tr>
      ))}
    </Table>
  );
}
