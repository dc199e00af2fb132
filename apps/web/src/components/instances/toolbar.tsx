'use client';

import { statuses } from '@aster/compute/states';
import type { Ref } from 'react';
import styles from './instances.module.css';

/**
 * The statuses a listed server of Aster can have. Nova's SOFT_DELETED, SHELVED and SHELVED_OFFLOADED name
 * actions Aster does not have, a deleted server is not listed, and UNKNOWN is no state a server is put in.
 */
const NOT_LISTED: readonly string[] = ['DELETED', 'SOFT_DELETED', 'SHELVED', 'SHELVED_OFFLOADED', 'UNKNOWN'];
export const FILTER_STATUSES = statuses.filter((s) => !NOT_LISTED.includes(s));

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
          {FILTER_STATUSES.map((s) => (
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
