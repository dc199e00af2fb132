import { spawn } from 'node:child_process';
import { createHash, randomBytes, randomUUID } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { mkdir, open, readdir, readFile, rename, rm, stat } from 'node:fs/promises';
import { join, relative, resolve } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { FileImageStore } from '@aster/api';
import { transaction, type Pool } from '@aster/db';
import { inheritedEnv } from './env.ts';

/**
 * aster-tiny, the guest Aster boots in its own tests and offers every cloud: the Debian kernel and a
 * busybox initramfs, built by packages/stack/guest/build.sh from Debian packages (see that folder).
 */
export const guestImageName = 'aster-tiny';

const guestDir = fileURLToPath(new URL('../guest/', import.meta.url));
const QCOW2_MAGIC = Buffer.from([0x51, 0x46, 0x49, 0xfb]);
const STDERR_TAIL_LINES = 25;
const GUEST_MIN_RAM_MB = 64;
const GUEST_MIN_DISK_GB = 1;

export interface GuestImage {
  /** The qcow2 file, `<dataDir>/guest/aster-tiny-<hash of the build scripts>.qcow2`. */
  path: string;
  /** Of the file, lower-case hex. */
  sha256: string;
  sizeBytes: number;
  /** The disk size the guest sees (from the qcow2 header). */
  virtualSizeBytes: number;
  /** True when this call built it; false when a build of the same scripts was there already. */
  built: boolean;
}

export interface EnsureGuestImageOptions {
  dataDir: string;
  /** Told each line the build prints. */
  log?: (line: string) => void;
  /** Where downloaded .deb files are kept for later builds; `<dataDir>/guest/debs` by default. */
  cacheDir?: string;
}

/** A SHA-256 over the build's files (names, executable bits, contents): a new one means a new build. */
export async function guestScriptsHash(): Promise<string> {
  const hash = createHash('sha256');
  const walk = async (dir: string): Promise<string[]> => {
    const entries = await readdir(dir, { withFileTypes: true });
    const files = await Promise.all(
      entries.map((e) => (e.isDirectory() ? walk(join(dir, e.name)) : Promise.resolve(e.isFile() ? [join(dir, e.name)] : []))),
    );
    return files.flat();
  };
  for (const file of (await walk(guestDir)).sort()) {
    const executable = ((await stat(file)).mode & 0o111) !== 0;
    hash.update(`${relative(guestDir, file)}\0${executable ? 'x' : '-'}\0`);
    hash.update(await readFile(file));
    hash.update('\0');
  }
  return hash.digest('hex');
}

const building = new Map<string, Promise<GuestImage>>();

/**
 * The aster-tiny qcow2 for the current build scripts, built on first use (about 10 s, plus a ~70 MB
 * download of the kernel package once). Concurrent callers for one data folder share one build; a failed
 * build leaves no file behind and throws with the end of the script's error output; other builds' files
 * are removed once a new one is in place.
 */
export function ensureGuestImage(options: EnsureGuestImageOptions): Promise<GuestImage> {
  const dir = join(resolve(options.dataDir), 'guest');
  let pending = building.get(dir);
  if (!pending) {
    pending = ensureIn(dir, options).finally(() => building.delete(dir));
    building.set(dir, pending);
  }
  return pending;
}

async function ensureIn(dir: string, options: EnsureGuestImageOptions): Promise<GuestImage> {
  const hash = (await guestScriptsHash()).slice(0, 16);
  const name = `${guestImageName}-${hash}.qcow2`;
  const path = join(dir, name);
  const existing = await describeImage(path).catch((error: NodeJS.ErrnoException) => {
    if (error.code === 'ENOENT') return null;
    throw error;
  });
  if (existing) return { ...existing, built: false };

  await mkdir(dir, { recursive: true, mode: 0o755 });
  const partial = `${path}.${randomBytes(4).toString('hex')}.partial`;
  try {
    await runBuild(partial, options.cacheDir ?? join(dir, 'debs'), options.log);
    const made = await describeImage(partial);
    await rename(partial, path);
    await removeOtherBuilds(dir, name);
    return { ...made, path, built: true };
  } catch (error) {
    await rm(partial, { force: true });
    throw error;
  }
}

function runBuild(out: string, cacheDir: string, log: ((line: string) => void) | undefined): Promise<void> {
  return new Promise((resolvePromise, reject) => {
    const child = spawn('bash', [join(guestDir, 'build.sh'), out], {
      cwd: guestDir,
      env: { ...inheritedEnv(), ASTER_GUEST_CACHE: cacheDir, LC_ALL: 'C' },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    const tail: string[] = [];
    createInterface({ input: child.stdout }).on('line', (line) => log?.(line));
    createInterface({ input: child.stderr }).on('line', (line) => {
      log?.(line);
      tail.push(line);
      if (tail.length > STDERR_TAIL_LINES) tail.shift();
    });
    child.on('error', (error) => reject(new Error(`Building the guest image ${guestImageName} failed: cannot run bash (${error.message})`)));
    child.on('close', (code, signal) => {
      if (code === 0) return resolvePromise();
      const how = signal ? `was stopped by ${signal}` : `exited with code ${code}`;
      const why = tail.length ? `:\n${tail.join('\n')}` : ' without an error message';
      reject(new Error(`Building the guest image ${guestImageName} failed: build.sh ${how}${why}`));
    });
  });
}

/** Size, checksum and virtual size of a qcow2 file; throws if it is not one. */
async function describeImage(path: string): Promise<Omit<GuestImage, 'built'>> {
  const file = await open(path, 'r');
  let header: Buffer;
  let sizeBytes: number;
  try {
    sizeBytes = (await file.stat()).size;
    header = Buffer.alloc(32);
    await file.read(header, 0, 32, 0);
  } finally {
    await file.close();
  }
  if (!header.subarray(0, 4).equals(QCOW2_MAGIC)) throw new Error(`${path} is not a qcow2 image`);
  const hash = createHash('sha256');
  for await (const chunk of createReadStream(path)) hash.update(chunk as Buffer);
  return { path, sha256: hash.digest('hex'), sizeBytes, virtualSizeBytes: Number(header.readBigUInt64BE(24)) };
}

/** Earlier builds, and partial files of builds that crashed (older than an hour, so not running ones). */
async function removeOtherBuilds(dir: string, keep: string): Promise<void> {
  const build = new RegExp(`^${guestImageName}-[0-9a-f]{16}\\.qcow2$`);
  const partial = new RegExp(`^${guestImageName}-[0-9a-f]{16}\\.qcow2\\.[0-9a-f]+\\.partial$`);
  for (const entry of await readdir(dir)) {
    const path = join(dir, entry);
    if (entry !== keep && build.test(entry)) await rm(path, { force: true });
    if (!partial.test(entry)) continue;
    const age = await stat(path).then((s) => Date.now() - s.mtimeMs, () => 0);
    if (age > 3_600_000) await rm(path, { force: true });
  }
}

export interface RegisteredGuestImage {
  /** The image named aster-tiny whose data is this build. */
  id: string;
  /** False when it was registered already (same checksum): nothing changed. */
  created: boolean;
  /** Earlier aster-tiny images, renamed "aster-tiny (old <date registered>)" and otherwise kept. */
  retired: string[];
}

/** What the image row says about the guest, for the scheduler's filters and the driver. */
export const guestImageProperties: Readonly<Record<string, string>> = {
  hw_architecture: 'x86_64',
  hw_firmware_type: 'bios',
  hw_disk_bus: 'virtio',
  hw_vif_model: 'virtio',
  os_type: 'linux',
  os_distro: 'busybox',
};

/**
 * Makes `built` the public image aster-tiny, owned by the admin project (it must exist: run ensureAdmin
 * first), its data in the API's image store under `imageDir`. Idempotent: an aster-tiny with the same
 * checksum is left as it is (its data written again if the store lost it). A different build becomes the
 * new aster-tiny and earlier ones are renamed, not deleted, so that servers using them keep working.
 */
export async function registerGuestImage(
  pool: Pool,
  imageDir: string,
  built: Pick<GuestImage, 'path' | 'sha256' | 'sizeBytes' | 'virtualSizeBytes'>,
  options: { now?: () => Date } = {},
): Promise<RegisteredGuestImage> {
  const store = new FileImageStore(imageDir);
  const now = (options.now ?? (() => new Date()))();
  const storeBytes = async (id: string) => {
    const written = await store.write(id, createReadStream(built.path));
    if (written.sha256 !== built.sha256) {
      await store.remove(id);
      throw new Error(`${built.path} changed while it was stored: SHA-256 ${written.sha256}, expected ${built.sha256}`);
    }
  };
  let stored: string | undefined;
  try {
    return await transaction(pool, async (db) => {
      // One registration at a time, across processes.
      await db.query(`SELECT pg_advisory_xact_lock(hashtext(current_schema() || ':aster-guest-image'))`);
      const admin = await db.query<{ id: string }>('SELECT id FROM projects WHERE is_admin ORDER BY created_at LIMIT 1');
      const owner = admin.rows[0]?.id;
      if (!owner) throw new Error(`Cannot register ${guestImageName}: there is no admin project yet (create it with ensureAdmin first)`);

      const ours = `name = $1 AND project_id = $2 AND visibility = 'public'`;
      const same = await db.query<{ id: string }>(
        `SELECT id FROM images WHERE ${ours} AND status = 'active' AND checksum_sha256 = $3 ORDER BY created_at DESC LIMIT 1`,
        [guestImageName, owner, built.sha256],
      );
      const found = same.rows[0];
      if (found) {
        if (!(await store.exists(found.id))) await storeBytes(found.id);
        return { id: found.id, created: false, retired: [] };
      }

      const id = randomUUID();
      stored = id;
      await storeBytes(id);
      const retired = await db.query<{ id: string }>(
        `UPDATE images SET name = name || ' (old ' || to_char(created_at, 'YYYY-MM-DD') || ')', updated_at = $3
          WHERE ${ours} RETURNING id`,
        [guestImageName, owner, now],
      );
      await db.query(
        `INSERT INTO images (id, name, project_id, visibility, status, disk_format, size_bytes, virtual_size, checksum_sha256,
                             min_ram_mb, min_disk_gb, properties, protected, created_at, updated_at)
         VALUES ($1, $2, $3, 'public', 'active', 'qcow2', $4, $5, $6, $7, $8, $9, false, $10, $10)`,
        [id, guestImageName, owner, built.sizeBytes, built.virtualSizeBytes, built.sha256, GUEST_MIN_RAM_MB, GUEST_MIN_DISK_GB,
          JSON.stringify(guestImageProperties), now],
      );
      return { id, created: true, retired: retired.rows.map((r) => r.id) };
    });
  } catch (error) {
    // The transaction rolled back: bytes stored for a new row must go too.
    if (stored) await store.remove(stored).catch(() => {});
    throw error;
  }
}
