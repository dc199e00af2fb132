import { spawn } from 'node:child_process';
import { generateKeyPairSync } from 'node:crypto';
import { fileURLToPath } from 'node:url';

const bin = fileURLToPath(new URL('../bin/aster.mjs', import.meta.url));

export interface Ran {
  code: number | null;
  stdout: string;
  stderr: string;
}

/**
 * Runs the real `aster` command in a child process with only the environment given (plus PATH), so that
 * nothing of the developer's own login leaks in. Asynchronous: the API it talks to runs in this process.
 */
export function runAster(args: readonly string[], env: Record<string, string>, input?: string): Promise<Ran> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [bin, ...args], {
      env: { PATH: process.env.PATH ?? '/usr/bin:/bin', ...env },
      stdio: ['pipe', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (d: string) => (stdout += d));
    child.stderr.setEncoding('utf8').on('data', (d: string) => (stderr += d));
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, stdout, stderr }));
    child.stdin.end(input ?? '');
  });
}

/** An OpenSSH ed25519 public key line, made with node:crypto. */
export function ed25519PublicKey(comment = 'cli@test'): string {
  const jwk = generateKeyPairSync('ed25519').publicKey.export({ format: 'jwk' });
  const field = (b: Buffer) => {
    const length = Buffer.alloc(4);
    length.writeUInt32BE(b.length);
    return Buffer.concat([length, b]);
  };
  const blob = Buffer.concat([field(Buffer.from('ssh-ed25519')), field(Buffer.from(jwk.x ?? '', 'base64url'))]);
  return `ssh-ed25519 ${blob.toString('base64')} ${comment}\n`;
}

/** Starts `aster …` and leaves it running (for --follow): its output so far, and a way to stop it. */
export function startAster(args: readonly string[], env: Record<string, string>) {
  const child = spawn(process.execPath, [bin, ...args], { env: { PATH: process.env.PATH ?? '/usr/bin:/bin', ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  child.stdout.setEncoding('utf8').on('data', (d: string) => (stdout += d));
  child.stderr.setEncoding('utf8').on('data', (d: string) => (stderr += d));
  const exited = new Promise<void>((resolve) => child.on('close', () => resolve()));
  return {
    output: () => ({ stdout, stderr }),
    async stop() {
      child.kill('SIGTERM');
      await exited;
    },
  };
}
