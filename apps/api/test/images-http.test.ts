import { createHash, randomBytes } from 'node:crypto';
import { existsSync, mkdtempSync, readdirSync, rmSync, statSync } from 'node:fs';
import { request, createServer, type ClientRequest, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import type { ReadableStream } from 'node:stream/web';
import { pipeline } from 'node:stream/promises';
import { createAsterClient, login, type AsterClient } from '@aster/client';
import { defaultApiConfig, ensureAdmin } from '@aster/api';
import { useTestDatabase } from '@aster/db/testing';
import { createLogger } from '@aster/log';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createApiHandler } from '../src/http.ts';

const MB = 1024 * 1024;
const db = useTestDatabase();
const imageDir = join(mkdtempSync(join(tmpdir(), 'aster-api-images-')), 'images');
const lines: Record<string, unknown>[] = [];
const log = createLogger('api', { write: (line) => lines.push(JSON.parse(line) as Record<string, unknown>) });
let server: Server;
let url: string;
let admin: { token: string; api: AsterClient };
let alice: { token: string; api: AsterClient; projectId: string }; // member of team
let rita: { token: string; api: AsterClient }; // reader of team
let bob: { token: string; api: AsterClient; projectId: string }; // member of another project

beforeAll(async () => {
  await ensureAdmin(db.pool, { password: 'admin-password-1' });
  server = createServer(createApiHandler({ db: db.pool, log, config: { ...defaultApiConfig, imageDir } }));
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  const signIn = async (username: string, password: string) => {
    const s = await login({ url, username, password });
    return { token: s.token, api: createAsterClient({ url, token: s.token }), projectId: s.project.id };
  };
  admin = await signIn('admin', 'admin-password-1');
  for (const project of ['team', 'others']) await admin.api.projects.create.mutate({ name: project });
  await admin.api.users.create.mutate({ name: 'alice', password: 'alice-password', project: 'team', role: 'member' });
  await admin.api.users.create.mutate({ name: 'rita', password: 'rita-password', project: 'team', role: 'reader' });
  await admin.api.users.create.mutate({ name: 'bob', password: 'bob-password', project: 'others', role: 'member' });
  alice = await signIn('alice', 'alice-password');
  rita = await signIn('rita', 'rita-password');
  bob = await signIn('bob', 'bob-password');
});
afterAll(async () => {
  await new Promise<void>((resolve) => server.close(() => resolve()));
  rmSync(join(imageDir, '..'), { recursive: true, force: true });
});

const fileUrl = (id: string) => `${url}/v1/images/${id}/file`;
const sha256 = (data: Buffer) => createHash('sha256').update(data).digest('hex');
const bearer = (token: string) => ({ authorization: `Bearer ${token}` });

function put(id: string, body: Buffer, token = alice.token, headers: Record<string, string> = {}) {
  return fetch(fileUrl(id), { method: 'PUT', headers: { ...bearer(token), ...headers }, body });
}

async function waitFor(check: () => boolean | Promise<boolean>, what: string, ms = 10_000) {
  const deadline = Date.now() + ms;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting until ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}

/** A qcow2 v3 header (magic, version, virtual size at byte 24) followed by data. */
function qcow2(virtualSize: bigint, total = 256 * 1024) {
  const b = randomBytes(total);
  b.fill(0, 0, 512);
  b.write('QFI\xfb', 0, 'latin1');
  b.writeUInt32BE(3, 4);
  b.writeBigUInt64BE(virtualSize, 24);
  return b;
}

function iso(total = 96 * 1024) {
  const b = Buffer.alloc(total);
  b.write('\x01CD001\x01', 0x8000, 'latin1');
  return b;
}

/** A PUT through node:http, for uploads the test keeps open, feeds slowly or cuts off. */
function openUpload(id: string, headers: Record<string, string> = {}): { req: ClientRequest; response: Promise<IncomingMessage> } {
  const req = request(fileUrl(id), { method: 'PUT', headers: { ...bearer(alice.token), ...headers } });
  const response = new Promise<IncomingMessage>((resolve, reject) => {
    req.on('response', resolve);
    req.on('error', reject);
  });
  return { req, response };
}

async function readBody(res: IncomingMessage): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of res) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks).toString();
}

describe('uploading image data', () => {
  it('stores a qcow2 image, reading its virtual size from the header', async () => {
    const image = await alice.api.images.create.mutate({ name: 'qcow2-disk', diskFormat: 'qcow2' });
    const data = qcow2(10n * 1024n ** 3n);
    const res = await put(image.id, data);
    expect(res.status).toBe(200);
    const body = await res.json();
    expect(body).toMatchObject({ id: image.id, status: 'active', sizeBytes: data.length, virtualSize: 10 * 1024 ** 3, checksumSha256: sha256(data), fault: null });
    await expect(alice.api.images.get.query({ id: image.id })).resolves.toEqual(body);
    const file = join(imageDir, image.id);
    expect(statSync(file).size).toBe(data.length);
    expect(statSync(file).mode & 0o777).toBe(0o644);
    expect(statSync(imageDir).mode & 0o777).toBe(0o755);
    expect(lines).toContainEqual(expect.objectContaining({ msg: 'image uploaded', image: image.id, bytes: data.length, ms: expect.any(Number), format: 'qcow2' }));
  });

  it('stores raw data (virtual size = size), checking x-image-sha256 when given', async () => {
    const image = await alice.api.images.create.mutate({ name: 'raw-disk', diskFormat: 'raw' });
    const data = randomBytes(100_000);
    const res = await put(image.id, data, alice.token, { 'x-image-sha256': sha256(data).toUpperCase() });
    expect(res.status).toBe(200);
    expect(await res.json()).toMatchObject({ status: 'active', sizeBytes: 100_000, virtualSize: 100_000, checksumSha256: sha256(data) });
  });

  it('stores an ISO 9660 image', async () => {
    const image = await alice.api.images.create.mutate({ name: 'installer', diskFormat: 'iso' });
    const data = iso();
    const res = await put(image.id, data);
    expect(res.status).toBe(200);
    expect(await res.json()).toMatchObject({ status: 'active', diskFormat: 'iso', sizeBytes: data.length, virtualSize: data.length });
  });

  it('kills an image whose data is not of its declared format, keeping no bytes', async () => {
    const image = await alice.api.images.create.mutate({ name: 'says-raw', diskFormat: 'raw' });
    const res = await put(image.id, qcow2(1n << 30n));
    expect(res.status).toBe(400);
    const { error } = (await res.json()) as { error: string };
    expect(error).toMatch(/^Disk format mismatch: declared raw, but the data is a qcow2 image/);
    await expect(alice.api.images.get.query({ id: image.id })).resolves.toMatchObject({ status: 'killed', fault: error, sizeBytes: null });
    expect(readdirSync(imageDir).filter((f) => f.startsWith(image.id))).toEqual([]);
    // A killed image takes no more data.
    const again = await put(image.id, randomBytes(10));
    expect(again.status).toBe(409);
    expect(await again.json()).toEqual({ error: `Image says-raw (${image.id}) is killed: data can be uploaded only while it is queued` });

    const iso9660 = await alice.api.images.create.mutate({ name: 'says-iso', diskFormat: 'iso' });
    const notIso = await put(iso9660.id, randomBytes(40_000));
    expect(notIso.status).toBe(400);
    expect(await notIso.json()).toEqual({ error: expect.stringMatching(/declared iso, but the data has no ISO 9660 signature/) });
    const says = await alice.api.images.create.mutate({ name: 'says-qcow2', diskFormat: 'qcow2' });
    const plain = await put(says.id, iso());
    expect(await plain.json()).toEqual({ error: expect.stringMatching(/declared qcow2, but the data is an ISO 9660 image/) });
  });

  it('kills an image whose data does not match x-image-sha256', async () => {
    const image = await alice.api.images.create.mutate({ name: 'bad-sum', diskFormat: 'raw' });
    const res = await put(image.id, randomBytes(1000), alice.token, { 'x-image-sha256': 'ab'.repeat(32) });
    expect(res.status).toBe(400);
    expect(await res.json()).toEqual({ error: expect.stringMatching(/^Checksum mismatch: x-image-sha256 is abab.*, but the data received has SHA-256 [0-9a-f]{64}$/) });
    await expect(alice.api.images.get.query({ id: image.id })).resolves.toMatchObject({ status: 'killed' });
    expect(existsSync(join(imageDir, image.id))).toBe(false);
    const malformed = await alice.api.images.create.mutate({ name: 'bad-header', diskFormat: 'raw' });
    const refused = await put(malformed.id, randomBytes(10), alice.token, { 'x-image-sha256': 'xyz' });
    expect(refused.status).toBe(400);
    await expect(alice.api.images.get.query({ id: malformed.id })).resolves.toMatchObject({ status: 'queued' });
  });

  it('refuses an empty body and leaves the image queued for another try', async () => {
    const image = await alice.api.images.create.mutate({ name: 'empty', diskFormat: 'raw' });
    const res = await put(image.id, Buffer.alloc(0));
    expect(res.status).toBe(400);
    expect(await res.json()).toEqual({ error: 'The upload is empty: send the image data as the request body' });
    // Without a Content-Length the emptiness shows only at the end; the image goes back to queued.
    const { req, response } = openUpload(image.id, { 'transfer-encoding': 'chunked' });
    req.end();
    const chunked = await response;
    expect(chunked.statusCode).toBe(400);
    expect(JSON.parse(await readBody(chunked))).toEqual({ error: 'The upload is empty: send the image data as the request body' });
    expect(readdirSync(imageDir).filter((f) => f.startsWith(image.id))).toEqual([]);
    await expect(alice.api.images.get.query({ id: image.id })).resolves.toMatchObject({ status: 'queued', fault: null });
    expect((await put(image.id, randomBytes(10))).status).toBe(200);
  });

  it('kills an image whose upload breaks off, and leaves no file behind', async () => {
    const image = await alice.api.images.create.mutate({ name: 'cut-off', diskFormat: 'raw' });
    const { req, response } = openUpload(image.id);
    response.catch(() => {});
    req.write(randomBytes(MB));
    const partial = join(imageDir, `${image.id}.partial`);
    await waitFor(() => existsSync(partial) && statSync(partial).size > 0, 'the server writes the partial file');
    req.destroy();
    await waitFor(async () => (await alice.api.images.get.query({ id: image.id })).status === 'killed', 'the image is killed');
    const killed = await alice.api.images.get.query({ id: image.id });
    expect(killed.fault).toMatch(/^upload interrupted after \d+ bytes$/);
    expect(Number(/after (\d+)/.exec(killed.fault!)![1])).toBeGreaterThan(0);
    expect(readdirSync(imageDir).filter((f) => f.startsWith(image.id))).toEqual([]);
    expect(lines).toContainEqual(expect.objectContaining({ msg: 'image upload failed', image: image.id, fault: killed.fault }));
  });

  it('takes one upload at a time: a second one meanwhile gets 409', async () => {
    const image = await alice.api.images.create.mutate({ name: 'racing', diskFormat: 'raw' });
    const first = openUpload(image.id);
    const data = randomBytes(2 * MB);
    first.req.write(data.subarray(0, MB));
    await waitFor(async () => (await alice.api.images.get.query({ id: image.id })).status === 'saving', 'the first upload is saving');
    const second = await put(image.id, randomBytes(100));
    expect(second.status).toBe(409);
    expect(await second.json()).toEqual({ error: `Image racing (${image.id}) is saving (another upload is in progress): data can be uploaded only while it is queued` });
    first.req.end(data.subarray(MB));
    const res = await first.response;
    expect(res.statusCode).toBe(200);
    expect(JSON.parse(await readBody(res))).toMatchObject({ status: 'active', checksumSha256: sha256(data) });
  });

  it('streams 50 MB to disk as it arrives, never holding the whole body', async () => {
    const image = await alice.api.images.create.mutate({ name: 'big', diskFormat: 'raw' });
    const partial = join(imageDir, `${image.id}.partial`);
    const onDisk = () => (existsSync(partial) ? statSync(partial).size : 0);
    const hash = createHash('sha256');
    const window = 16 * MB; // socket buffers and stream high-water marks, far below the 50 MB sent
    let sent = 0;
    let widest = 0;
    async function* fiftyMegabytes() {
      for (let i = 0; i < 50; i++) {
        const chunk = randomBytes(MB);
        hash.update(chunk);
        sent += chunk.length;
        yield chunk;
        // A server that buffered the body would never let the file catch up while we wait here.
        await waitFor(() => sent - onDisk() <= window, `the file on disk is within ${window} bytes of what was sent`);
        widest = Math.max(widest, sent - onDisk());
      }
    }
    const { req, response } = openUpload(image.id);
    await pipeline(Readable.from(fiftyMegabytes()), req);
    const res = await response;
    const body = JSON.parse(await readBody(res)) as { status: string; sizeBytes: number; checksumSha256: string };
    expect(res.statusCode).toBe(200);
    const digest = hash.digest('hex');
    expect(body).toMatchObject({ status: 'active', sizeBytes: 50 * MB, checksumSha256: digest });
    expect(widest).toBeLessThanOrEqual(window);

    // And back, streamed, with the same hash.
    const stranger = await fetch(fileUrl(image.id), { headers: bearer(bob.token) });
    expect(stranger.status).toBe(404); // private to its project
    await stranger.text();
    const mine = await fetch(fileUrl(image.id), { headers: bearer(alice.token) });
    expect(mine.headers.get('content-length')).toBe(String(50 * MB));
    const back = createHash('sha256');
    for await (const chunk of Readable.fromWeb(mine.body! as ReadableStream<Uint8Array>)) back.update(chunk as Buffer);
    expect(back.digest('hex')).toBe(digest);
  });
});

describe('downloading image data', () => {
  it('sends the bytes with their length and hash, one range at a time, and HEAD without a body', async () => {
    const image = await admin.api.images.create.mutate({ name: 'public-raw', diskFormat: 'raw', visibility: 'public' });
    const data = randomBytes(4096);
    expect((await put(image.id, data, admin.token)).status).toBe(200);

    // Any project may read a public image (compute hosts read them with their own token).
    const whole = await fetch(fileUrl(image.id), { headers: bearer(bob.token) });
    expect(whole.status).toBe(200);
    expect(whole.headers.get('content-length')).toBe('4096');
    expect(whole.headers.get('x-image-sha256')).toBe(sha256(data));
    expect(whole.headers.get('accept-ranges')).toBe('bytes');
    expect(Buffer.from(await whole.arrayBuffer()).equals(data)).toBe(true);

    const part = await fetch(fileUrl(image.id), { headers: { ...bearer(bob.token), range: 'bytes=100-199' } });
    expect(part.status).toBe(206);
    expect(part.headers.get('content-range')).toBe('bytes 100-199/4096');
    expect(part.headers.get('content-length')).toBe('100');
    expect(Buffer.from(await part.arrayBuffer()).equals(data.subarray(100, 200))).toBe(true);

    const tail = await fetch(fileUrl(image.id), { headers: { ...bearer(bob.token), range: 'bytes=-96' } });
    expect(tail.headers.get('content-range')).toBe('bytes 4000-4095/4096');
    expect(Buffer.from(await tail.arrayBuffer()).equals(data.subarray(4000))).toBe(true);

    const outside = await fetch(fileUrl(image.id), { headers: { ...bearer(bob.token), range: 'bytes=5000-' } });
    expect(outside.status).toBe(416);
    expect(outside.headers.get('content-range')).toBe('bytes */4096');
    await outside.text();

    const head = await fetch(fileUrl(image.id), { method: 'HEAD', headers: bearer(rita.token) });
    expect(head.status).toBe(200);
    expect(head.headers.get('content-length')).toBe('4096');
    expect(await head.text()).toBe('');
  });

  it('serves a shared image to member projects only, and no data before it is active', async () => {
    const image = await alice.api.images.create.mutate({ name: 'shared-data', diskFormat: 'raw', visibility: 'shared' });
    const queued = await fetch(fileUrl(image.id), { headers: bearer(alice.token) });
    expect(queued.status).toBe(409);
    expect(await queued.json()).toEqual({ error: `Image shared-data (${image.id}) is queued: its data can be downloaded once it is active` });
    expect((await put(image.id, randomBytes(512))).status).toBe(200);
    expect((await fetch(fileUrl(image.id), { headers: bearer(bob.token) })).status).toBe(404);
    await alice.api.images.addMember.mutate({ id: image.id, project: 'others' });
    const shared = await fetch(fileUrl(image.id), { headers: bearer(bob.token) });
    expect(shared.status).toBe(200);
    expect((await shared.arrayBuffer()).byteLength).toBe(512);
  });
});

describe('who may upload and download', () => {
  it('answers 401 without a valid token', async () => {
    const image = await alice.api.images.create.mutate({ name: 'guarded', diskFormat: 'raw' });
    const none = await fetch(fileUrl(image.id), { method: 'PUT', body: Buffer.from('x') });
    expect(none.status).toBe(401);
    expect(none.headers.get('www-authenticate')).toBe('Bearer');
    expect(await none.json()).toEqual({ error: 'Sign in first: send Authorization: Bearer <token>' });
    const bad = await fetch(fileUrl(image.id), { headers: bearer('ast_not-a-token') });
    expect(bad.status).toBe(401);
    expect(await bad.json()).toEqual({ error: 'Invalid token: sign in again' });
    const later = await login({ url, username: 'alice', password: 'alice-password' });
    await createAsterClient({ url, token: later.token }).auth.logout.mutate();
    const revoked = await put(image.id, randomBytes(10), later.token);
    expect(revoked.status).toBe(401);
    expect(await revoked.json()).toEqual({ error: 'Token revoked: sign in again' });
    await expect(alice.api.images.get.query({ id: image.id })).resolves.toMatchObject({ status: 'queued' });
  });

  it('lets only members of the owning project upload, and hides other projects’ private images', async () => {
    const image = await alice.api.images.create.mutate({ name: 'owned', diskFormat: 'raw' });
    const reader = await put(image.id, randomBytes(10), rita.token);
    expect(reader.status).toBe(403);
    expect(await reader.json()).toEqual({ error: expect.stringMatching(/^Uploading image data needs role member on project team; you hold reader/) });
    const stranger = await put(image.id, randomBytes(10), bob.token);
    expect(stranger.status).toBe(404);
    expect(await stranger.json()).toEqual({ error: `Image ${image.id} not found` });
    expect((await fetch(fileUrl(image.id), { headers: bearer(bob.token) })).status).toBe(404);
    const pub = await admin.api.images.create.mutate({ name: 'admins-public', diskFormat: 'raw', visibility: 'public' });
    const foreign = await put(pub.id, randomBytes(10), bob.token);
    expect(foreign.status).toBe(403);
    expect(await foreign.json()).toEqual({ error: expect.stringMatching(/belongs to another project: only its owner may upload data to it/) });
    // Nothing of the refused uploads changed the images.
    await expect(alice.api.images.get.query({ id: image.id })).resolves.toMatchObject({ status: 'queued' });
    await expect(admin.api.images.get.query({ id: pub.id })).resolves.toMatchObject({ status: 'queued' });
  });

  it('answers 404 for unknown images and paths, 405 for other methods', async () => {
    const missing = await fetch(fileUrl('00000000-0000-4000-8000-000000000000'), { headers: bearer(alice.token) });
    expect(missing.status).toBe(404);
    expect((await fetch(fileUrl('../../etc'), { headers: bearer(alice.token) })).status).toBe(404);
    expect((await fetch(fileUrl('not-an-id'), { headers: bearer(alice.token) })).status).toBe(404);
    const other = await fetch(`${url}/v1/images/x/data`, { headers: bearer(alice.token) });
    expect(await other.json()).toEqual({ error: 'No such path: /v1/images/x/data' });
    const post = await fetch(fileUrl('00000000-0000-4000-8000-000000000000'), { method: 'POST', headers: bearer(alice.token), body: 'x' });
    expect(post.status).toBe(405);
    expect(post.headers.get('allow')).toBe('GET, HEAD, PUT');
  });
});
