import { randomUUID } from 'node:crypto';
import type { Page } from '@playwright/test';
import type { AsterClient, Credentials } from './api.ts';

export interface TestProject {
  id: string;
  name: string;
}

/** A new project made for one test; `removeProjects` deletes it again. */
export async function createProject(admin: AsterClient, prefix: string): Promise<TestProject> {
  const { id, name } = await admin.projects.create.mutate({ name: `${prefix}-${Date.now().toString(36)}-${randomUUID().slice(0, 4)}` });
  return { id, name };
}

/** A new user with role member on each of `projects`. */
export async function createMemberOf(admin: AsterClient, prefix: string, projects: TestProject[]): Promise<Credentials & { id: string }> {
  const username = `${prefix}-${Date.now().toString(36)}-${randomUUID().slice(0, 6)}`;
  const password = randomUUID();
  const [first, ...rest] = projects;
  const user = await admin.users.create.mutate({ name: username, password, project: first!.id, role: 'member' });
  for (const p of rest) await admin.roleAssignments.grant.mutate({ userId: user.id, project: p.id, role: 'member' });
  return { id: user.id, username, password };
}

/** Deletes the users, then the projects (whatever of them is left), so a failed test leaves nothing behind. */
export async function removeProjects(admin: AsterClient, users: { id: string }[], projects: TestProject[]): Promise<void> {
  for (const u of users) await admin.users.delete.mutate({ id: u.id }).catch(() => undefined);
  for (const p of projects) await admin.projects.delete.mutate({ id: p.id }).catch(() => undefined);
}

/** The project the console acts in now, from its header ("Signed in as u (project p)"). */
export async function currentProject(page: Page): Promise<string> {
  const text = (await page.getByText(/^Signed in as \S+ \(project /).textContent()) ?? '';
  return /\(project (.+)\)$/.exec(text)?.[1] ?? '';
}
