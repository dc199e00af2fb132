export const MAX_USER_DATA = 64 * 1024;

export interface LaunchDraft {
  name: string;
  imageId: string;
  flavorId: string;
  networkId: string;
  keyName: string;
  userData: string;
  count: string;
  /** '' for none. */
  serverGroupId: string;
  /** '' for any zone. */
  availabilityZone: string;
}

export type Problems = Partial<Record<keyof LaunchDraft, string>>;

/** What is wrong with the form before it is sent; the API checks again and its answer is shown too. */
export function validate(d: LaunchDraft): Problems {
  const p: Problems = {};
  if (!d.name.trim()) p.name = 'Name is required';
  else if (d.name.trim().length > 255) p.name = 'Name must be at most 255 characters';
  if (!d.imageId) p.imageId = 'Choose an image';
  if (!d.flavorId) p.flavorId = 'Choose a flavor';
  const count = Number(d.count);
  if (!Number.isInteger(count) || count < 1 || count > 10) p.count = 'Count must be a whole number from 1 to 10';
  const bytes = new TextEncoder().encode(d.userData).length;
  if (bytes > MAX_USER_DATA) p.userData = `User data is ${bytes} bytes; at most ${MAX_USER_DATA} bytes (64 KiB)`;
  return p;
}
