import { createHash } from 'node:crypto';
import { createReadStream, createWriteStream } from 'node:fs';
import { chmod, mkdir, rename, rm, stat } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { Transform, type Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { isUuid } from '../identity/lookup.ts';

/** An inclusive byte range, as in HTTP's `Range: bytes=start-end`. */
export interface ByteRange {
  start: number;
  end: number;
}

export interface WriteResult {
  sizeBytes: number;
  /** Lower-case hex. */
  sha256: string;
}

/**
 * Where image bytes live, by image id. The contract:
 * - `write` streams `source` in, honouring backpressure, and resolves once the bytes are durable under `id`.
 *   Until then nothing is readable under `id`: an error or a crash never leaves a half image that looks
 *   complete. On error the partial data is gone and the promise rejects with the first error.
 *   `onChunk` sees every chunk in order before it is stored; if it throws, the write fails with that error.
 * - `read` streams the stored bytes, or one range of them; the stream errors if there are none.
 * - `remove` deletes the bytes and any partial data; removing what is not there is not an error.
 */
export interface ImageStore {
  write(id: string, source: Readable, onChunk?: (chunk: Buffer) => void): Promise<WriteResult>;
  read(id: string, range?: ByteRange): Readable;
  remove(id: string): Promise<void>;
  exists(id: string): Promise<boolean>;
}

/**
 * Image bytes as files `<dir>/<id>`, written as `<dir>/<id>.partial` and renamed when complete. The folder
 * and files are world-readable (0755, 0644): hypervisor processes running as their own user read them.
 */
export class FileImageStore implements ImageStore {
  readonly dir: string;
  private ready: Promise<void> | undefined;

  constructor(dir: string) {
    this.dir = resolve(dir);
  }

  /** The file that holds an image's bytes once written. */
  path(id: string): string {
    // Ids come from URLs too: only a UUID may become a file name.
    if (!isUuid(id)) throw new Error(`Not an image id: ${JSON.stringify(id)}`);
    return join(this.dir, id.toLowerCase());
  }

  async write(id: string, source: Readable, onChunk?: (chunk: Buffer) => void): Promise<WriteResult> {
    const final = this.path(id);
    const partial = `${final}.partial`;
    await this.ensureDir();
    const hash = createHash('sha256');
    let sizeBytes = 0;
    const meter = new Transform({
      transform(chunk: Buffer, _encoding, callback) {
        try {
          onChunk?.(chunk);
        } catch (error) {
          return callback(error as Error);
        }
        hash.update(chunk);
        sizeBytes += chunk.length;
        callback(null, chunk);
      },
    });
    try {
      // flush: on disk before the rename, so that a crash cannot leave a complete-looking file of zeros.
      await pipeline(source, meter, createWriteStream(partial, { mode: 0o644, flush: true }));
      await chmod(partial, 0o644);
      await rename(partial, final);
    } catch (error) {
      await rm(partial, { force: true });
      throw error;
    }
    return { sizeBytes, sha256: hash.digest('hex') };
  }

  read(id: string, range?: ByteRange): Readable {
    return createReadStream(this.path(id), range ? { start: range.start, end: range.end } : {});
  }

  async remove(id: string): Promise<void> {
    const final = this.path(id);
    await rm(`${final}.partial`, { force: true });
    await rm(final, { force: true });
  }

  async exists(id: string): Promise<boolean> {
    try {
      return (await stat(this.path(id))).isFile();
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') return false;
      throw error;
    }
  }

  private ensureDir(): Promise<void> {
    this.ready ??= (async () => {
      const created = await mkdir(this.dir, { recursive: true, mode: 0o755 });
      // The umask may have narrowed the mode; a folder we made gets exactly 0755.
      if (created) await chmod(this.dir, 0o755);
    })().catch((error: unknown) => {
      this.ready = undefined;
      throw error;
    });
    return this.ready;
  }
}
