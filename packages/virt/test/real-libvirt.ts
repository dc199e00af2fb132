import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { chmod, mkdtemp, rm, stat } from 'node:fs/promises';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pipeline } from 'node:stream/promises';

/**
 * What the LibvirtDriver's tests need beside real libvirt: the tiny guest image (built by the launcher; `npm
 * test` names it in ASTER_TEST_GUEST_IMAGE and has started libvirt), served over HTTP as the API serves images
 * to hosts, and state folders QEMU's user can reach, under the run's work folder.
 */
export interface RealLibvirt {
  guest: { path: string; sha256: string; sizeBytes: number };
  /** The image server's base URL; the image is at `downloadPath`. */
  apiUrl: string;
  downloadPath: string;
  /** A new state folder for one driver (removed by `close`). */
  stateDir(): Promise<string>;
  close(): Promise<void>;
}

export async function realLibvirt(): Promise<RealLibvirt> {
  const path = process.env.ASTER_TEST_GUEST_IMAGE;
  if (!path) throw new Error('ASTER_TEST_GUEST_IMAGE is not set: run the tests with `npm test`, which starts libvirt and builds the guest image');
  const hash = createHash('sha256');
  await pipeline(createReadStream(path), hash);
  const guest = { path, sha256: hash.digest('hex'), sizeBytes: (await stat(path)).size };

  const downloadPath = '/v1/images/tiny/file?sig=test';
  const server: Server = createServer((req, res) => {
    if (req.url !== downloadPath) {
      res.writeHead(403).end('bad signature');
      return;
    }
    res.writeHead(200, { 'content-type': 'application/octet-stream' });
    createReadStream(path).pipe(res);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const dirs: string[] = [];
  return {
    guest,
    apiUrl: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    downloadPath,
    async stateDir() {
      const dir = await mkdtemp(join(process.env.ASTER_TEST_WORK_DIR ?? tmpdir(), 'libvirt-'));
      await chmod(dir, 0o755); // QEMU runs as its own user
      dirs.push(dir);
      return dir;
    },
    async close() {
      await new Promise((resolve) => server.close(resolve));
      for (const dir of dirs) await rm(dir, { recursive: true, force: true });
    },
  };
}
