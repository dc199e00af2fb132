import { execFile } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { createWriteStream } from 'node:fs';
import { chmod, mkdir, mkdtemp, rename, rm, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { Readable, Transform } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import type { ReadableStream as WebReadableStream } from 'node:stream/web';
import { promisify } from 'node:util';
import { DriverError, type InstanceSpec } from '../driver.ts';

const exec = promisify(execFile);

/** Runs a tool and turns its failure into the tool's own message. */
export async function tool(command: string, args: string[], timeoutMs = 120_000): Promise<string> {
  try {
    const { stdout } = await exec(command, args, { timeout: timeoutMs, maxBuffer: 16 * 1024 * 1024 });
    return stdout;
  } catch (error) {
    const e = error as { stderr?: string; message: string; code?: string };
    if (e.code === 'ENOENT') throw new DriverError(`${command} is not installed on this host`);
    const said = (e.stderr ?? '').trim().split('\n').slice(-3).join(' ') || e.message;
    throw new DriverError(`${command} failed: ${said}`, `${command} ${args.join(' ')}`);
  }
}

export interface ImageInfo {
  format: string;
  virtualSize: number;
}

export async function imageInfo(path: string): Promise<ImageInfo> {
  const out = JSON.parse(await tool('qemu-img', ['info', '-U', '--output=json', path])) as { format: string; 'virtual-size': number };
  return { format: out.format, virtualSize: out['virtual-size'] };
}

const GiB = 1024 ** 3;

/**
 * This host's copy of each image, keyed by its SHA-256: downloaded once from the API (a signed URL), checked
 * against the checksum, and then read-only. Instances never write into it: each gets a qcow2 overlay.
 */
export class ImageCache {
  private readonly inflight = new Map<string, Promise<string>>();

  constructor(
    readonly dir: string,
    private readonly apiUrl: string,
  ) {}

  /** The cached base file for the image, fetched if this host does not have it yet (reported to `progress` once done). */
  async fetch(image: InstanceSpec['image'], progress?: (step: string) => void): Promise<string> {
    if (image.diskFormat === 'iso') throw new DriverError(`image ${image.name} is an ISO; booting from ISO images is not supported yet`);
    const checksum = image.checksumSha256;
    if (!checksum) throw new DriverError(`image ${image.name} (${image.id}) has no checksum: only active images can be booted`);
    const path = join(this.dir, `${checksum}.${image.diskFormat}`);
    if (await exists(path)) return path;
    // Builds of the same image at once wait for one download.
    let pending = this.inflight.get(checksum);
    if (!pending) {
      pending = this.download(image, checksum, path).finally(() => this.inflight.delete(checksum));
      this.inflight.set(checksum, pending);
    }
    const downloaded = await pending;
    progress?.('downloading image');
    return downloaded;
  }

  private async download(image: InstanceSpec['image'], checksum: string, path: string): Promise<string> {
    const downloadPath = image.downloadPath;
    if (!downloadPath) throw new DriverError(`image ${image.name} (${image.id}) is not cached on this host and the build carries no download URL`);
    await mkdir(this.dir, { recursive: true, mode: 0o755 });
    const url = new URL(downloadPath, this.apiUrl);
    const partial = `${path}.${randomBytes(4).toString('hex')}.part`;
    try {
      const res = await fetch(url, { signal: AbortSignal.timeout(30 * 60_000) });
      if (!res.ok || !res.body) {
        const body = (await res.text().catch(() => '')).slice(0, 300);
        throw new DriverError(`downloading image ${image.name} from the API failed: HTTP ${res.status}${body ? `: ${body}` : ''}`);
      }
      const hash = createHash('sha256');
      const hasher = new Transform({
        transform(chunk: Buffer, _enc, done) {
          hash.update(chunk);
          done(null, chunk);
        },
      });
      await pipeline(Readable.fromWeb(res.body as WebReadableStream), hasher, createWriteStream(partial, { mode: 0o444 }));
      const got = hash.digest('hex');
      if (got !== checksum) throw new DriverError(`image ${image.name} downloaded with checksum ${got}, expected ${checksum}: refusing to use it`);
      const info = await imageInfo(partial);
      if (info.format !== image.diskFormat) throw new DriverError(`image ${image.name} says it is ${image.diskFormat} but its data is ${info.format}`);
      await chmod(partial, 0o444);
      await rename(partial, path);
      return path;
    } catch (error) {
      await rm(partial, { force: true });
      if (error instanceof DriverError) throw error;
      throw new DriverError(`downloading image ${image.name} from ${url.origin} failed: ${(error as Error).message}`);
    }
  }
}

/** A qcow2 overlay on the cached base, as large as the flavor's disk (or the image's own size for a 0 GB flavor). */
const baseSizes = new Map<string, number>();

export async function createOverlay(path: string, base: string, baseFormat: string, diskGb: number, imageName: string): Promise<void> {
  // A cached base never changes, so its size is read once.
  let virtualSize = baseSizes.get(base);
  if (virtualSize === undefined) {
    virtualSize = (await imageInfo(base)).virtualSize;
    baseSizes.set(base, virtualSize);
  }
  const wanted = diskGb > 0 ? diskGb * GiB : virtualSize;
  if (wanted < virtualSize) {
    throw new DriverError(`image ${imageName} needs a ${Math.ceil(virtualSize / GiB)} GB disk, and the flavor has ${diskGb} GB`);
  }
  await tool('qemu-img', ['create', '-q', '-f', 'qcow2', '-F', baseFormat, '-b', base, path, String(wanted)]);
}

/** Grows a disk to `diskGb` (never shrinks it). */
export async function growDisk(path: string, diskGb: number): Promise<void> {
  const { virtualSize } = await imageInfo(path);
  if (diskGb * GiB > virtualSize) await tool('qemu-img', ['resize', '-q', path, String(diskGb * GiB)]);
}

/**
 * A config drive: an ISO 9660 image labelled `config-2` with `openstack/latest/…` and `ec2/…`, as Nova
 * writes it, for guests that cannot reach the metadata service.
 */
export async function buildConfigDrive(path: string, files: Record<string, string | Buffer>): Promise<void> {
  const root = await mkdtemp(join(path, '..', '.config-drive-'));
  try {
    for (const [name, content] of Object.entries(files)) {
      const file = join(root, name);
      await mkdir(join(file, '..'), { recursive: true });
      await writeFile(file, content);
    }
    const tmp = `${path}.part`;
    await tool('genisoimage', ['-quiet', '-o', tmp, '-ldots', '-allow-lowercase', '-allow-multidot', '-l', '-V', 'config-2', '-r', '-J', root]);
    await rename(tmp, path);
  } finally {
    await rm(root, { recursive: true, force: true });
  }
}

export async function exists(path: string): Promise<boolean> {
  return stat(path).then(
    () => true,
    () => false,
  );
}
