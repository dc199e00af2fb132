import { z } from 'zod';
import { id } from '../schemas.ts';

const metaKey = z.string().min(1, 'metadata keys must not be empty').max(255, 'metadata keys must be at most 255 characters');
const metaValue = z.string().max(255, 'metadata values must be at most 255 characters');

export const serverName = z
  .string()
  .trim()
  .min(1, 'must not be empty')
  .max(255, 'must be at most 255 characters')
  // Cc is C0, DEL and C1: none of them prints.
  .refine((s) => !/\p{Cc}/u.test(s), 'must not contain control characters');

export const metadata = z
  // A bad key is reported by zod as "Invalid key in record"; say what is wrong with it instead.
  .record(metaKey, metaValue, { error: (issue) => (issue.code === 'invalid_key' ? issue.issues[0]?.message : undefined) })
  .refine((m) => Object.keys(m).length <= 128, 'at most 128 metadata items');

export const tag = z
  .string()
  .min(1, 'tags must not be empty')
  .max(60, 'tags must be at most 60 characters')
  .refine((s) => !s.includes(',') && !s.includes('/'), 'tags must not contain , or /');

const hintIds = z.array(id).min(1, 'name at least one server').max(100, 'at most 100 servers');

/** Nova's same_host and different_host hints: servers of the project to be placed with, or away from. */
export const schedulerHints = z.strictObject(
  { sameHost: hintIds.optional(), differentHost: hintIds.optional() },
  { error: (issue) => (issue.code === 'unrecognized_keys' ? `unknown hint ${issue.keys.join(', ')}; hints are sameHost, differentHost` : undefined) },
);

export const createInput = z.object({
  name: serverName,
  flavorId: id,
  imageId: id,
  networks: z.array(id).max(16, 'at most 16 networks').optional(),
  /** Security groups of the project by name or id, given to every port of the server; default: [default]. */
  securityGroups: z.array(z.string().trim().min(1, 'must name a security group').max(255)).max(16, 'at most 16 security groups').optional(),
  keyName: z.string().min(1, 'must name a key pair').max(255, 'must be at most 255 characters').optional(),
  userData: z.string().optional(),
  metadata: metadata.optional(),
  tags: z.array(tag).max(50, 'at most 50 tags').optional(),
  count: z.number().int('must be a whole number').min(1, 'must be at least 1').max(100, 'must be at most 100').default(1),
  /** The server group to join (of the caller's project). */
  serverGroupId: id.optional(),
  availabilityZone: z.string().trim().min(1, 'must not be empty').max(255, 'must be at most 255 characters').optional(),
  schedulerHints: schedulerHints.optional(),
});
export type CreateInput = z.infer<typeof createInput>;
