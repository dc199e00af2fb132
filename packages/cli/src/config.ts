import { chmod, mkdir, readFile, rename, rm, writeFile } from 'node:fs/promises';
import { dirname } from 'node:path';
import { CliError } from './errors.ts';

/** What `aster login` remembers: the API's URL and a token for it. Written with mode 600: the token opens the account. */
export interface StoredConfig {
  url: string;
  token?: string;
  expiresAt?: string;
  user?: string;
  project?: string;
}

export async function readConfig(file: string): Promise<StoredConfig | null> {
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return null;
    throw new CliError(`Cannot read ${file}: ${(error as Error).message}`);
  }
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch (error) {
    throw new CliError(`${file} is not valid JSON (${(error as Error).message}): sign in again with aster login`);
  }
  const c = parsed as Partial<Record<keyof StoredConfig, unknown>> | null;
  if (typeof c !== 'object' || c === null || typeof c.url !== 'string') {
    throw new CliError(`${file} has no "url": sign in again with aster login`);
  }
  const str = (v: unknown) => (typeof v === 'string' ? v : undefined);
  return {
    url: c.url,
    ...(str(c.token) ? { token: str(c.token) } : {}),
    ...(str(c.expiresAt) ? { expiresAt: str(c.expiresAt) } : {}),
    ...(str(c.user) ? { user: str(c.user) } : {}),
    ...(str(c.project) ? { project: str(c.project) } : {}),
  };
}

/** Replaces the file in one step (a temporary file renamed over it), never readable by others on the way. */
export async function writeConfig(file: string, config: StoredConfig): Promise<void> {
  await mkdir(dirname(file), { recursive: true, mode: 0o700 });
  const temporary = `${file}.${process.pid}.tmp`;
  try {
    await writeFile(temporary, JSON.stringify(config, null, 2) + '\n', { mode: 0o600 });
    await chmod(temporary, 0o600);
    await rename(temporary, file);
  } catch (error) {
    await rm(temporary, { force: true });
    throw new CliError(`Cannot write ${file}: ${(error as Error).message}`);
  }
}
