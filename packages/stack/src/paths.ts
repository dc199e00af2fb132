import { hostname } from 'node:os';
import { fileURLToPath } from 'node:url';
import { isAbsolute, join, resolve } from 'node:path';

export const root = fileURLToPath(new URL('../../../', import.meta.url)).replace(/\/$/, '');

export function dataDir(setting: string | undefined): string {
  if (!setting) return join(root, '.aster');
  return isAbsolute(setting) ? setting : resolve(process.cwd(), setting);
}

/** How people on this machine reach a listener bound to `host`. */
export function publicHost(host: string): string {
  return host === '0.0.0.0' || host === '::' ? hostname() : host;
}
