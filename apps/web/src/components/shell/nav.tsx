'use client';

import Link from 'next/link';
import { usePathname } from 'next/navigation';
import styles from './shell.module.css';

export interface NavItem {
  href: string;
  label: string;
}

export const PROJECT_NAV: NavItem[] = [
  { href: '/', label: 'Overview' },
  { href: '/servers', label: 'Instances' },
  { href: '/server-groups', label: 'Server groups' },
  { href: '/images', label: 'Images' },
  { href: '/keypairs', label: 'Key pairs' },
  { href: '/flavors', label: 'Flavors' },
  { href: '/network-topology', label: 'Network topology' },
  { href: '/networks', label: 'Networks' },
  { href: '/routers', label: 'Routers' },
  { href: '/floating-ips', label: 'Floating IPs' },
  { href: '/security-groups', label: 'Security groups' },
  { href: '/quotas', label: 'Quotas' },
  { href: '/credentials', label: 'Application credentials' },
];

export const ADMIN_NAV: NavItem[] = [
  { href: '/admin/hypervisors', label: 'Hypervisors' },
  { href: '/admin/aggregates', label: 'Aggregates' },
  { href: '/admin/services', label: 'Services' },
  { href: '/admin/servers', label: 'All instances' },
  { href: '/admin/projects', label: 'Projects' },
  { href: '/admin/users', label: 'Users' },
];

function isCurrent(pathname: string, href: string): boolean {
  return href === '/' ? pathname === '/' : pathname === href || pathname.startsWith(`${href}/`);
}

/** The app's sections; the admin ones only for cloud administrators. */
export function Nav({ isAdmin }: { isAdmin: boolean }) {
  const pathname = usePathname();
  const list = (items: NavItem[]) => (
    <ul>
      {items.map((item) => (
        <li key={item.href}>
          <Link href={item.href} aria-current={isCurrent(pathname, item.href) ? 'page' : undefined}>
            {item.label}
          </Link>
        </li>
      ))}
    </ul>
  );
  return (
    <nav className={styles.sideNav} aria-label="Sections">
      {list(PROJECT_NAV)}
      {isAdmin ? (
        <>
          <p className={styles.sideNavHeading}>Admin</p>
          {list(ADMIN_NAV)}
        </>
      ) : null}
    </nav>
  );
}
