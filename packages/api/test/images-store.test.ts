import { randomUUID } from 'node:crypto';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { afterAll, describe, expect, it } from 'vitest';
import { FileImageStore } from '../src/index.ts';

const root = mkdtempSync(join(tmpdir(), 'aster-store-'));
afterAll(() => rmSync(root, { recursive: true, force: true }));

const text = async (stream: Readable) => {
  const chunks: Buffer[] = [];
  for await (const chunk of stream) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks).toString();
};

describe('FileImageStore', () => {
  it('creates its folder world-readable, writes <id> with its size and SHA-256, reads it whole or by range', async () => {
    const dir = join(root, 'nested', 'images');
    const store = new FileImageStore(dir);
    const id = randomUUID();
    const seen: number[] = [];
    const result = await store.write(id, Readable.from([Buffer.from('hello '), Buffer.from('world')]), (chunk) => seen.push(chunk.length));
    expect(result).toEqual({ sizeBytes: 11, sha256: 'b94d27b9934d3e08a52e52d7da7dabfac484efe37a5380ee9088f7ace2efcde9' });
    expect(seen).toEqual([6, 5]);
    expect(statSync(dir).mode & 0o777).toBe(0o755);
    expect(statSync(store.path(id)).mode & 0o777).toBe(0o644);
    expect(readdirSync(dir)).toEqual([id]);
    expect(await store.exists(id)).toBe(true);
    expect(await text(store.read(id))).toBe('hello world');
    expect(await text(store.read(id, { start: 6, end: 10 }))).toBe('world');
    await store.remove(id);
    expect(await store.exists(id)).toBe(false);
    await store.remove(id); // removing what is not there is fine
  });

  it('leaves nothing behind when the source breaks off or the chunk check throws', async () => {
    const store = new FileImageStore(join(root, 'broken'));
    const id = randomUUID();
    async function* breaking() {
      yield Buffer.alloc(64 * 1024, 1);
      throw new Error('connection lost');
    }
    await expect(store.write(id, Readable.from(breaking()))).rejects.toThrow('connection lost');
    expect(readdirSync(store.dir)).toEqual([]);
    await expect(
      store.write(id, Readable.from([Buffer.from('abc')]), () => {
        throw new Error('not wanted');
      }),
    ).rejects.toThrow('not wanted');
    expect(existsSync(store.path(id))).toBe(false);
    expect(readdirSync(store.dir)).toEqual([]);
  });

  it('replaces a previous write only when the new one completes, and takes only image ids as names', async () => {
    const store = new FileImageStore(join(root, 'replace'));
    const id = randomUUID();
    await store.write(id, Readable.from([Buffer.from('first')]));
    await expect(store.write(id, Readable.from((async function* () { yield Buffer.from('sec'); throw new Error('cut'); })()))).rejects.toThrow('cut');
    expect(readFileSync(store.path(id), 'utf8')).toBe('first');
    expect(() => store.path('../etc/passwd')).toThrow(/Not an image id/);
    expect(() => store.read('x/../y')).toThrow(/Not an image id/);
  });
});
