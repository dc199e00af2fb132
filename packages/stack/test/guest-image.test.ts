import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { createHash, generateKeyPairSync } from 'node:crypto';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:http';
import { connect, type AddressInfo, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ensureAdmin } from '@aster/api';
import { useTestDatabase } from '@aster/db/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ensureGuestImage, guestImageName, registerGuestImage, type GuestImage } from '../src/guest-image.ts';

const work = mkdtempSync(join(tmpdir(), 'aster-guest-test-'));
// Kept between runs, so that the kernel package (~70 MB) is downloaded once per machine.
const debCache = join(tmpdir(), 'aster-guest-debs');
const db = useTestDatabase();
const buildLog: string[] = [];
let image: GuestImage;
let concurrent: GuestImage[] = [];

beforeAll(async () => {
  // A build of other scripts, to be removed once the new one is in place.
  mkdirSync(join(work, 'guest'));
  writeFileSync(join(work, 'guest', `${guestImageName}-0123456789abcdef.qcow2`), 'an earlier build');
  concurrent = await Promise.all([1, 2].map(() => ensureGuestImage({ dataDir: work, cacheDir: debCache, log: (l) => buildLog.push(l) })));
  image = concurrent[0]!;
}, 600_000);

const children: ChildProcess[] = [];
afterAll(() => {
  for (const child of children) if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
  rmSync(work, { recursive: true, force: true });
});

describe('building aster-tiny', () => {
  it('builds one small qcow2 for concurrent callers, then reuses it', async () => {
    expect(concurrent[1]).toBe(concurrent[0]);
    expect(image).toMatchObject({ built: true, virtualSizeBytes: 64 * 1024 * 1024 });
    expect(image.path).toMatch(new RegExp(`/guest/${guestImageName}-[0-9a-f]{16}\\.qcow2$`));
    expect(image.sizeBytes).toBeGreaterThan(5 * 1024 * 1024);
    expect(image.sizeBytes).toBeLessThan(16 * 1024 * 1024);
    expect(buildLog.join('\n')).toMatch(/aster-tiny: ssh dropbear-bin_.*libc\.so\.6/);
    expect(createHash('sha256').update(readFileSync(image.path)).digest('hex')).toBe(image.sha256);
    expect(buildLog.join('\n')).toMatch(/aster-tiny: modules .*virtio_net.*isofs/);

    const started = performance.now();
    const again = await ensureGuestImage({ dataDir: work, cacheDir: debCache });
    expect(performance.now() - started).toBeLessThan(3000);
    expect(again).toEqual({ ...image, built: false });
    expect(readdirSync(join(work, 'guest')).filter((f) => f.endsWith('.qcow2'))).toEqual([image.path.split('/').pop()]);
  });

  it('leaves nothing behind when the build fails, and says why', async () => {
    const dataDir = join(work, 'failing');
    const notAFolder = join(work, 'not-a-folder');
    writeFileSync(notAFolder, 'a file where the package cache should be');
    const failed = ensureGuestImage({ dataDir, cacheDir: notAFolder });
    await expect(failed).rejects.toThrow(/Building the guest image aster-tiny failed: build\.sh exited with code 1:\n[\s\S]*not-a-folder/);
    expect(readdirSync(join(dataDir, 'guest')).filter((f) => f.includes('qcow2'))).toEqual([]);
  });
});

describe('registering aster-tiny', () => {
  it('makes one public active image in the image store, once, and renames it when the build changes', async () => {
    await ensureAdmin(db.pool, { password: 'guest-image-test' });
    const imageDir = join(work, 'images');
    const first = await registerGuestImage(db.pool, imageDir, image);
    expect(first).toMatchObject({ created: true, retired: [] });
    const { rows } = await db.pool.query('SELECT i.*, p.name AS owner FROM images i JOIN projects p ON p.id = i.project_id WHERE i.id = $1', [first.id]);
    expect(rows[0]).toMatchObject({
      name: 'aster-tiny',
      owner: 'admin',
      visibility: 'public',
      status: 'active',
      disk_format: 'qcow2',
      size_bytes: String(image.sizeBytes),
      virtual_size: String(image.virtualSizeBytes),
      checksum_sha256: image.sha256,
      min_disk_gb: 1,
      min_ram_mb: 64,
      properties: expect.objectContaining({ hw_architecture: 'x86_64', os_distro: 'busybox' }),
    });
    const stored = join(imageDir, first.id);
    expect(createHash('sha256').update(readFileSync(stored)).digest('hex')).toBe(image.sha256);

    expect(await registerGuestImage(db.pool, imageDir, image)).toEqual({ id: first.id, created: false, retired: [] });
    // The store lost the bytes: they are written again under the same image.
    rmSync(stored);
    expect(await registerGuestImage(db.pool, imageDir, image)).toEqual({ id: first.id, created: false, retired: [] });
    expect(existsSync(stored)).toBe(true);

    // Another build (here: an empty qcow2) becomes aster-tiny; the earlier one is renamed and kept.
    const other = join(work, 'other.qcow2');
    spawnSync('qemu-img', ['create', '-q', '-f', 'qcow2', other, '64M'], { stdio: 'inherit' });
    const bytes = readFileSync(other);
    const next = { path: other, sha256: createHash('sha256').update(bytes).digest('hex'), sizeBytes: bytes.length, virtualSizeBytes: 64 << 20 };
    const second = await registerGuestImage(db.pool, imageDir, next);
    expect(second).toMatchObject({ created: true, retired: [first.id] });
    const names = await db.pool.query<{ id: string; name: string }>('SELECT id, name FROM images ORDER BY created_at, name');
    expect(names.rows).toEqual([
      { id: first.id, name: expect.stringMatching(/^aster-tiny \(old \d{4}-\d{2}-\d{2}\)$/) },
      { id: second.id, name: 'aster-tiny' },
    ]);
    expect(existsSync(stored) && existsSync(join(imageDir, second.id))).toBe(true);
  });
});

/** An OpenSSH ed25519 public key line and its fingerprints, as ssh-keygen -l prints them. */
function sshKey(comment: string) {
  const jwk = generateKeyPairSync('ed25519').publicKey.export({ format: 'jwk' });
  // The SSH wire format: each field a 32-bit big-endian length, then its bytes.
  const field = (b: Buffer) => {
    const length = Buffer.alloc(4);
    length.writeUInt32BE(b.length);
    return Buffer.concat([length, b]);
  };
  const blob = Buffer.concat([field(Buffer.from('ssh-ed25519')), field(Buffer.from(jwk.x!, 'base64url'))]);
  return {
    line: `ssh-ed25519 ${blob.toString('base64')} ${comment}`,
    md5: createHash('md5').update(blob).digest('hex').replace(/(..)(?!$)/g, '$1:'),
    sha256: 'SHA256:' + createHash('sha256').update(blob).digest('base64').replace(/=+$/, ''),
  };
}

/** The guest's serial port through a QEMU socket chardev: everything it printed, and a way to type. */
class Serial {
  text = '';
  constructor(private readonly socket: Socket) {
    socket.on('data', (chunk: Buffer) => (this.text += chunk.toString('latin1')));
  }
  static async open(path: string, deadlineMs: number): Promise<Serial> {
    for (;;) {
      try {
        const socket = await new Promise<Socket>((resolve, reject) => {
          const s = connect(path, () => resolve(s)).once('error', reject);
        });
        return new Serial(socket);
      } catch (error) {
        if (Date.now() > deadlineMs) throw error;
        await new Promise((r) => setTimeout(r, 100));
      }
    }
  }
  async waitFor(pattern: RegExp, timeoutMs: number, from = 0): Promise<RegExpMatchArray> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const found = this.text.slice(from).match(pattern);
      if (found) return found;
      if (Date.now() > deadline) throw new Error(`no ${pattern} on the serial port within ${timeoutMs} ms; it printed:\n${this.text.slice(-4000)}`);
      await new Promise((r) => setTimeout(r, 200));
    }
  }
  type(line: string): void {
    this.socket.write(line + '\r');
  }
}

describe('booting aster-tiny', () => {
  it('reads the config drive, runs the user data, answers on the serial shell and powers off on ACPI', async () => {
    const dir = join(work, 'boot');
    const uuid = '1b4e28ba-2fa1-41d2-883f-0016d3cca427';
    const hostname = 'guest-test-1';
    const key = sshKey('tester@example "quoted" \\ back\\slash');
    mkdirSync(join(dir, 'drive/openstack/latest'), { recursive: true });
    const meta = {
      uuid,
      name: hostname,
      hostname,
      launch_index: 0,
      availability_zone: 'nova',
      project_id: 'a4f0f7c5-5b8c-4e6f-9d3a-1c2b3d4e5f60',
      public_keys: { 'test-key': key.line },
      keys: [{ name: 'test-key', type: 'ssh', data: key.line }],
      meta: { uuid: 'not-this-one' },
    };
    writeFileSync(join(dir, 'drive/openstack/latest/meta_data.json'), JSON.stringify(meta));
    writeFileSync(join(dir, 'drive/openstack/latest/user_data'), '#!/bin/sh\necho hello-$((6*7))\n');
    const iso = join(dir, 'config.iso');
    const made = spawnSync('genisoimage', ['-quiet', '-o', iso, '-V', 'config-2', '-R', '-J', join(dir, 'drive')], { encoding: 'utf8' });
    expect(made.status, made.stderr).toBe(0);

    const serialSocket = join(dir, 'serial.sock');
    const monitorSocket = join(dir, 'monitor.sock');
    const started = Date.now();
    const qemu = spawn(
      'qemu-system-x86_64',
      [
        '-machine', 'accel=tcg', '-m', '128', '-nographic', '-nic', 'none',
        '-drive', `file=${image.path},if=virtio,format=qcow2,snapshot=on`,
        '-drive', `file=${iso},if=virtio,format=raw,readonly=on`,
        // wait=on: the machine starts once the test holds the serial port, so no output is lost.
        '-chardev', `socket,id=serial0,path=${serialSocket},server=on,wait=on`,
        '-serial', 'chardev:serial0',
        '-monitor', `unix:${monitorSocket},server=on,wait=off`,
      ],
      { stdio: ['ignore', 'pipe', 'pipe'] },
    );
    children.push(qemu);
    let qemuOutput = '';
    qemu.stdout.on('data', (c: Buffer) => (qemuOutput += c.toString()));
    qemu.stderr.on('data', (c: Buffer) => (qemuOutput += c.toString()));
    const exited = new Promise<number | null>((resolve) => qemu.on('exit', (code) => resolve(code)));

    const serial = await Serial.open(serialSocket, Date.now() + 10_000);
    try {
      const ready = await serial.waitFor(/aster-guest ready hostname=(\S+) instance=(\S+)\r?\n/, 90_000);
      const seconds = ((Date.now() - started) / 1000).toFixed(1);
      console.log(`aster-tiny: ready line after ${seconds} s (TCG, config drive)`);
      expect(ready.slice(1)).toEqual([hostname, uuid]);
      expect(serial.text).toContain('aster-guest metadata source=config-drive device=/dev/vdb');
      expect(serial.text).toContain(`aster-guest key test-key ${key.md5} ${key.sha256}`);
      expect(serial.text).toMatch(/^aster-userdata: hello-42\r?$/m);
      expect(serial.text.indexOf('aster-userdata: hello-42')).toBeLessThan(serial.text.indexOf('aster-guest ready'));

      // The serial shell (there from early on: the boot runs beside it): what is typed runs, and its output comes back.
      await serial.waitFor(/# /, 20_000);
      const mark = serial.text.length;
      serial.type('echo "answer=$((40+2)) host=$(hostname)"');
      await serial.waitFor(new RegExp(`^answer=42 host=${hostname}\\r?$`, 'm'), 20_000, mark);
      serial.type('cat /root/.ssh/authorized_keys');
      await serial.waitFor(/^ssh-ed25519 \S+ tester@example "quoted" \\ back\\slash\r?$/m, 20_000, mark);

      // The ACPI power button, as virsh shutdown presses it.
      const monitor = await new Promise<Socket>((resolve, reject) => {
        const s = connect(monitorSocket, () => resolve(s)).once('error', reject);
      });
      monitor.on('data', () => {});
      monitor.write('system_powerdown\n');
      const code = await Promise.race([exited, new Promise<'timeout'>((r) => setTimeout(() => r('timeout'), 30_000))]);
      monitor.destroy();
      expect(code, `qemu did not power off:\n${serial.text.slice(-2000)}`).toBe(0);
      expect(serial.text).toContain('aster-guest power button pressed');
    } catch (error) {
      writeFileSync(join(tmpdir(), 'aster-guest-test-serial.log'), serial.text + '\n--- qemu ---\n' + qemuOutput);
      throw error;
    }
  }, 180_000);

  it('serves SSH on port 22 to the key from the metadata service, under the name from the metadata', async () => {
    const dir = join(work, 'ssh');
    mkdirSync(dir, { recursive: true });
    const keyFile = join(dir, 'id');
    const keygen = spawnSync('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-C', 'ssh-test', '-f', keyFile], { encoding: 'utf8' });
    expect(keygen.status, keygen.stderr).toBe(0);
    const hostname = 'ssh-guest-1';
    const uuid = '7d3c1f52-8a0e-4b6d-9c31-2f5e8b7a9d10';
    const requests: string[] = [];
    // The metadata service the guest reaches at 169.254.169.254:80: QEMU's user network runs a forwarder per
    // connection that joins this server.
    const server = createServer((req, res) => {
      requests.push(req.url ?? '');
      if (req.url === '/openstack/latest/meta_data.json') {
        res.end(JSON.stringify({ uuid, name: hostname, hostname, public_keys: { 'ssh-test': readFileSync(`${keyFile}.pub`, 'utf8').trim() } }));
      } else res.writeHead(404).end('not found');
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const mdPort = (server.address() as AddressInfo).port;
    const forwarder = join(dir, 'forward.cjs');
    writeFileSync(forwarder, `const s=require('net').connect(${mdPort},'127.0.0.1');process.stdin.pipe(s);s.pipe(process.stdout);s.on('close',()=>process.exit(0));\n`);
    const sshPort = await new Promise<number>((resolve) => {
      const probe = createServer().listen(0, '127.0.0.1', () => {
        const { port } = probe.address() as AddressInfo;
        probe.close(() => resolve(port));
      });
    });
    const serialSocket = join(dir, 'serial.sock');
    const qemu = spawn(
      'qemu-system-x86_64',
      [
        '-machine', 'accel=tcg', '-m', '128', '-nographic', '-monitor', 'none',
        '-drive', `file=${image.path},if=virtio,format=qcow2,snapshot=on`,
        '-netdev', `user,id=n0,net=169.254.169.0/24,host=169.254.169.2,hostfwd=tcp:127.0.0.1:${sshPort}-:22,guestfwd=tcp:169.254.169.254:80-cmd:${process.execPath} ${forwarder}`,
        '-device', 'virtio-net-pci,netdev=n0',
        '-chardev', `socket,id=serial0,path=${serialSocket},server=on,wait=on`,
        '-serial', 'chardev:serial0',
      ],
      { stdio: ['ignore', 'pipe', 'pipe'] },
    );
    children.push(qemu);
    let qemuOutput = '';
    qemu.stderr.on('data', (c: Buffer) => (qemuOutput += c.toString()));
    const serial = await Serial.open(serialSocket, Date.now() + 10_000);
    try {
      await serial.waitFor(/aster-guest ready hostname=\S+ instance=\S+\r?\n/, 90_000);
      expect(serial.text).toContain('aster-guest metadata source=network');
      expect(serial.text).toMatch(/aster-guest ssh port=22 hostkey SHA256:\S+/);
      expect(requests).toContain('/openstack/latest/meta_data.json');
      const ssh = spawnSync(
        'ssh',
        ['-i', keyFile, '-p', String(sshPort), '-o', 'StrictHostKeyChecking=no', '-o', 'UserKnownHostsFile=/dev/null', '-o', 'BatchMode=yes',
          '-o', 'ConnectTimeout=20', 'root@127.0.0.1', 'hostname; id -u; echo $HOME'],
        { encoding: 'utf8', timeout: 60_000 },
      );
      expect(ssh.status, ssh.stderr).toBe(0);
      expect(ssh.stdout.split('\n')).toEqual([hostname, '0', '/root', '']);
      // Keys only: a key the guest was not given is refused.
      const otherKey = join(dir, 'other');
      spawnSync('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-f', otherKey]);
      const refused = spawnSync(
        'ssh',
        ['-i', otherKey, '-p', String(sshPort), '-o', 'StrictHostKeyChecking=no', '-o', 'UserKnownHostsFile=/dev/null', '-o', 'BatchMode=yes',
          '-o', 'ConnectTimeout=20', 'root@127.0.0.1', 'hostname'],
        { encoding: 'utf8', timeout: 60_000 },
      );
      expect(refused.status).toBe(255);
      expect(refused.stderr).toMatch(/Permission denied \(publickey\)/);
    } catch (error) {
      writeFileSync(join(tmpdir(), 'aster-guest-test-ssh-serial.log'), serial.text + '\n--- qemu ---\n' + qemuOutput);
      throw error;
    } finally {
      qemu.kill('SIGKILL');
      await new Promise((resolve) => server.close(resolve));
    }
  }, 180_000);
});
