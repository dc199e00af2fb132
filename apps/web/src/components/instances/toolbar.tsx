'use client';

import { statuses } from '@aster/compute/states';
import type { Ref } from 'react';
import styles from './instances.module.css';

interface Props {
  filterRef: Ref<HTMLInputElement>;
  name: string;
  status: string;
  allProjects: boolean | null;
  onName: (name: string) => void;
  onStatus: (status: string) => void;
  onAllProjects: (on: boolean) => void;
}

/** Filters by name and status; administrators may also look across all projects (`allProjects` null hides it). */
export function Toolbar({ filterRef, name, status, allProjects, onName, onStatus, onAllProjects }: Props) {
  return (
    <div className={styles.toolbar} role="search">
      <label className={styles.inline}>
        <span className={styles.srOnly}>Filter by name</span>
        <input ref={filterRef} type="search" placeholder="Filter by name" aria-label="Filter by name" value={name} onChange={(e) => onName(e.target.value)} />
      </label>
      <label className={styles.inline}>
        Status
        <select aria-label="Status" value={status} onChange={(e) => onStatus(e.target.value)}>
          <option value="">Any</option>
          {statuses
            .filter((s) => s !== 'DELETED')
            .map((s) => (
              <option key={s} value={s}>
                {s}
              </option>
            ))}
        </select>
      </label>
      {allProjects !== null ? (
        <label className={styles.inline}>
          <input type="checkbox" checked={allProjects} onChange={(e) => onAllProjects(e.target.checked)} />
          All projects
        </label>
      ) : null}
    </div>
  );
}
