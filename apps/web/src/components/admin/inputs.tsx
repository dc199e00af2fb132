import { ROLES, type Project } from './types';

/** A new password: at least 8 characters, and the browser may offer to make one. */
export function NewPasswordInput({ id, value, onChange }: { id: string; value: string; onChange: (value: string) => void }) {
  return <input id={id} type="password" value={value} required minLength={8} autoComplete="new-password" onChange={(e) => onChange(e.target.value)} />;
}

/** The options of a project picker (by name, as the API takes it), after `none` for "no project". */
export function ProjectOptions({ projects, none }: { projects: Pick<Project, 'id' | 'name'>[]; none: string }) {
  return (
    <>
      <option value="">{none}</option>
      {projects.map((p) => (
        <option key={p.id} value={p.name}>
          {p.name}
        </option>
      ))}
    </>
  );
}

export function RoleOptions() {
  return ROLES.map((r) => <option key={r}>{r}</option>);
}
