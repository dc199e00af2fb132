import { z } from 'zod';
import { roles } from './roles.ts';

// Lower-cased, so comparisons with ids read from Postgres hold whatever case the caller used.
export const id = z.uuid({ error: 'must be an id (a UUID)' }).transform((s) => s.toLowerCase());
export const role = z.enum(roles, { error: `must be one of ${roles.join(', ')}` });
export const name = z
  .string()
  .min(1, 'must not be empty')
  .max(64, 'must be at most 64 characters')
  .regex(/^[A-Za-z0-9][A-Za-z0-9._-]*$/, 'must start with a letter or digit and use only letters, digits, . _ -');
export const password = z
  .string()
  .min(8, 'must be at least 8 characters')
  .max(1024, 'must be at most 1024 characters');
export const description = z.string().max(255, 'must be at most 255 characters');
/** A project named by id or by name. */
export const projectRef = z.string().min(1, 'must name a project').max(64);

export const ref = z.object({ id: z.string(), name: z.string() });
export const isoDate = z.iso.datetime();

export const toIso = (d: Date) => d.toISOString();
export const toIsoOrNull = (d: Date | null) => (d ? d.toISOString() : null);
