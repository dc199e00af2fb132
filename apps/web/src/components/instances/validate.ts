import { whyTooSmall, type ImageNeeds } from './fit';
import { flavorOverQuota, instancesOverQuota } from './quota';
import type { Flavor, Limits } from './types';

export const MAX_USER_DATA = 64 * 1024;
export const MAX_COUNT = 10;

export interface LaunchDraft {
  name: string;
  imageId: string;
  flavorId: string;
  networkId: string;
  /** Further networks, a port on each (only with a network picked). */
  moreNetworkIds: string[];
  /** The security groups' ids; null until changed, meaning the project's `default`. */
  securityGroupIds: string[] | null;
  keyName: string;
  userData: string;
  count: string;
  /** '' for none. */
  serverGroupId: string;
  /** '' for any zone. */
  availabilityZone: string;
}

export type Problems = Partial<Record<keyof LaunchDraft, string>>;

/** What the form's choices are checked against: the chosen image and flavor, and the project's quota. */
export interface LaunchContext {
  image: ImageNeeds | undefined;
  flavor: Flavor | undefined;
  limits: Limits | undefined;
}

/** The count asked for, or null when it is not a whole number from 1 to MAX_COUNT. */
export function countOf(d: Pick<LaunchDraft, 'count'>): number | null {
  const count = Number(d.count);
  return d.count.trim() !== '' && Number.isInteger(count) && count >= 1 && count <= MAX_COUNT ? count : null;
}

/**
 * What is wrong with the choices themselves, said as soon as they are made: a flavor too small for the image,
 * and what the quota has no room for. A count that is not valid is not checked against the quota (its own
 * problem says what to fix), so one field never carries two messages.
 */
export function choiceProblems(d: LaunchDraft, ctx: LaunchContext): Problems {
  const p: Problems = {};
  const count = countOf(d);
  const tooSmall = ctx.image && ctx.flavor ? whyTooSmall(ctx.image, ctx.flavor) : null;
  const overQuota = ctx.flavor && count !== null ? flavorOverQuota(ctx.flavor, count, ctx.limits) : null;
  if (tooSmall ?? overQuota) p.flavorId = (tooSmall ?? overQuota)!;
  const instances = count !== null ? instancesOverQuota(count, ctx.limits) : null;
  if (instances) p.count = instances;
  return p;
}

/** Everything wrong with the form before it is sent; the API checks again and its answer is shown too. */
export function validate(d: LaunchDraft, ctx: LaunchContext): Problems {
  const p: Problems = {};
  if (!d.name.trim()) p.name = 'Name is required';
  else if (d.name.trim().length > 255) p.name = 'Name must be at most 255 characters';
  if (!d.imageId) p.imageId = 'Choose an image';
  if (!d.flavorId) p.flavorId = 'Choose a flavor';
  if (countOf(d) === null) p.count = `Count must be a whole number from 1 to ${MAX_COUNT}`;
  const bytes = new TextEncoder().encode(d.userData).length;
  if (bytes > MAX_USER_DATA) p.userData = `User data is ${bytes} bytes; at most ${MAX_USER_DATA} bytes (64 KiB)`;
  return { ...choiceProblems(d, ctx), ...p };
}
