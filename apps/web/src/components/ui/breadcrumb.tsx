import Link from 'next/link';
import styles from './ui.module.css';

export interface Crumb {
  label: string;
  /** The page it names; none for the page itself (the last). */
  href?: string;
}

/** Where a page sits, named as the sections are: "Instances / web-1 / Console". */
export function Breadcrumb({ trail }: { trail: readonly Crumb[] }) {
  return (
    <nav aria-label="Breadcrumb" className={styles.breadcrumb}>
      <ol>
        {trail.map((crumb) =>
          crumb.href ? (
            <li key={crumb.href}>
              <Link href={crumb.href}>{crumb.label}</Link>
            </li>
          ) : (
            <li key={crumb.label} aria-current="page">
              {crumb.label}
            </li>
          ),
        )}
      </ol>
    </nav>
  );
}
