'use client';

import { useId, useTransition } from 'react';
import { switchProject } from '@/app/actions';
import styles from './shell.module.css';

/** For users in several projects: the project the app acts in (a new session token scoped to it). */
export function ProjectSwitcher({ current, projects }: { current: string; projects: readonly { name: string }[] }) {
  const id = useId();
  const [pending, start] = useTransition();
  if (projects.length < 2) return null;
  return (
    <span className={styles.projectSwitcher}>
      <label htmlFor={id}>Project</label>
      <select id={id} value={current} disabled={pending} onChange={(e) => start(() => switchProject(e.target.value))}>
        {projects.map((p) => (
          <option key={p.name} value={p.name}>
            {p.name}
          </option>
        ))}
      </select>
    </span>
  );
}
