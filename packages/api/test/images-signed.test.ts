import { randomBytes, randomUUID } from 'node:crypto';
import { useTestDatabase } from '@aster/db/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { defaultApiConfig } from '../src/index.ts';
import { signImagePath, verifyImageSignature } from '../src/images/signed.ts';
import { adminSession, userSession } from './harness.ts';
import { imageEndpoint } from './host-tasks-harness.ts';

const db = useTestDatabase();
const secret = defaultApiConfig.serviceSecret;
let endpoint: Awaited<ReturnType<typeof imageEndpoint>>;

beforeAll(async () => {
  endpoint = await imageEndpoint(db);
});
afterAll(() => endpoint?.close());

const inHours = (h: number) => new Date(Date.now() + h * 3600_000);
const query = (path: string) => Object.fromEntries(new URL(path, 'http://x').searchParams);

describe('signImagePath and verifyImageSignature', () => {
  const imageId = randomUUID();
  const now = new Date('2026-03-01T12:00:00Z');
  const expiresAt = new Date('2026-03-01T18:00:00Z');

  it('signs the image, the operation and the expiry into a path with query', () => {
    const path = signImagePath('s3cret', { imageId, op: 'read', expiresAt });
    expect(path).toMatch(new RegExp(`^/v1/images/${imageId}/file\\?op=read&expires=${expiresAt.getTime() / 1000}&sig=[0-9a-f]{64}$`));
    const q = query(path);
    expect(verifyImageSignature('s3cret', { imageId, op: 'read', expires: Number(q.expires), sig: q.sig! }, now)).toEqual({ ok: true });
  });

  it('says why a signature does not hold: another secret, image, operation or expiry, or its time is up', () => {
    const q = query(signImagePath('s3cret', { imageId, op: 'write', expiresAt }));
    const good = { imageId, op: 'write' as const, expires: Number(q.expires), sig: q.sig! };
    const bad = { ok: false, reason: 'bad signature' };
    expect(verifyImageSignature('other', good, now)).toEqual(bad);
    expect(verifyImageSignature('s3cret', { ...good, imageId: randomUUID() }, now)).toEqual(bad);
    expect(verifyImageSignature('s3cret', { ...good, op: 'read' }, now)).toEqual(bad);
    expect(verifyImageSignature('s3cret', { ...good, expires: good.expires + 3600 }, now)).toEqual(bad);
    expect(verifyImageSignature('s3cret', { ...good, sig: 'zz' }, now)).toEqual(bad);
    expect(verifyImageSignature('s3cret', good, expiresAt)).toEqual({ ok: false, reason: 'expired at 2026-03-01T18:00:00.000Z' });
  });
});

describe('image data through signed URLs, without a token', () => {
  const data = randomBytes(300 * 1024);
  let imageId: string;
  let token: string;

  beforeAll(async () => {
    const admin = await adminSession(db.pool);
    const alice = await userSession(db.pool, admin.api, { name: 'sig-alice', project: 'sig-team', role: 'member' });
    token = alice.token;
    imageId = (await alice.api.images.create({ name: 'signed', diskFormat: 'raw' })).id;
    const put = await fetch(`${endpoint.url}/v1/images/${imageId}/file`, { method: 'PUT', headers: { authorization: `Bearer ${token}` }, body: data });
    expect(put.status).toBe(200);
  });

  const get = (path: string, headers: Record<string, string> = {}) => fetch(`${endpoint.url}${path}`, { headers });
  const refusal = async (response: Response) => ({ status: response.status, error: ((await response.json()) as { error: string }).error });

  it('reads the image with a read signature, ranges included', async () => {
    const path = signImagePath(secret, { imageId, op: 'read', expiresAt: inHours(6) });
    const whole = await get(path);
    expect(whole.status).toBe(200);
    expect(Buffer.from(await whole.arrayBuffer()).equals(data)).toBe(true);
    const part = await get(path, { range: 'bytes=10-19' });
    expect(part.status).toBe(206);
    expect(Buffer.from(await part.arrayBuffer()).equals(data.subarray(10, 20))).toBe(true);
    const head = await fetch(`${endpoint.url}${path}`, { method: 'HEAD' });
    expect(head.headers.get('content-length')).toBe(String(data.length));
  });

  it('refuses with 403 naming the reason: expired, another operation, tampered, incomplete', async () => {
    const expired = signImagePath(secret, { imageId, op: 'read', expiresAt: new Date(Date.now() - 1000) });
    expect(await refusal(await get(expired))).toEqual({ status: 403, error: expect.stringMatching(/^Signed image URL refused: expired at /) });

    const read = signImagePath(secret, { imageId, op: 'read', expiresAt: inHours(1) });
    const asWrite = await fetch(`${endpoint.url}${read}`, { method: 'PUT', body: data });
    expect(await refusal(asWrite)).toEqual({ status: 403, error: 'Signed image URL refused: it grants read, not write' });
    const write = signImagePath(secret, { imageId, op: 'write', expiresAt: inHours(1) });
    expect(await refusal(await get(write))).toEqual({ status: 403, error: 'Signed image URL refused: it grants write, not read' });

    const tampered = [
      read.replace('op=read', 'op=write'),
      read.replace(/expires=(\d+)/, (_, n: string) => `expires=${Number(n) + 3600}`),
      read.replace(/sig=([0-9a-f])/, (_, c: string) => `sig=${c === '0' ? '1' : '0'}`),
      read.replace(imageId, randomUUID()),
    ];
    for (const path of tampered) {
      const method = path.includes('op=write') ? 'PUT' : 'GET';
      const response = await fetch(`${endpoint.url}${path}`, { method, ...(method === 'PUT' ? { body: data } : {}) });
      expect(await refusal(response)).toEqual({ status: 403, error: 'Signed image URL refused: bad signature' });
    }
    expect(await refusal(await get(read.replace(/&sig=.*/, '')))).toEqual({
      status: 403,
      error: 'Signed image URL refused: incomplete (it needs op, expires and sig)',
    });
    // Without a signature, nothing changed: a token is needed.
    expect((await get(`/v1/images/${imageId}/file`)).status).toBe(401);
    expect((await get(`/v1/images/${imageId}/file`, { authorization: `Bearer ${token}` })).status).toBe(200);
  });

  it('writes a queued image with a write signature, once, in the format the writer names', async () => {
    const admin = await adminSession(db.pool);
    const alice = await userSession(db.pool, admin.api, { name: 'sig-writer', project: 'sig-team', role: 'member' });
    const target = await alice.api.images.create({ name: 'from a host', diskFormat: 'qcow2' });
    const path = signImagePath(secret, { imageId: target.id, op: 'write', expiresAt: inHours(6) });
    const put = (headers: Record<string, string>) => fetch(`${endpoint.url}${path}`, { method: 'PUT', headers, body: data });

    expect(await refusal(await put({ 'x-image-disk-format': 'vmdk' }))).toEqual({
      status: 400,
      error: 'x-image-disk-format: must be one of qcow2, raw (got vmdk)',
    });
    const stored = await put({ 'x-image-disk-format': 'raw' });
    expect(stored.status).toBe(200);
    expect(await stored.json()).toMatchObject({ id: target.id, status: 'active', diskFormat: 'raw', sizeBytes: data.length });
    expect(await refusal(await put({}))).toEqual({ status: 409, error: expect.stringMatching(/is active: data can be uploaded only while it is queued/) });
    const download = await get(`/v1/images/${target.id}/file`, { authorization: `Bearer ${alice.token}` });
    expect(Buffer.from(await download.arrayBuffer()).equals(data)).toBe(true);

    const late = await alice.api.images.create({ name: 'too late', diskFormat: 'raw' });
    const expired = signImagePath(secret, { imageId: late.id, op: 'write', expiresAt: new Date(Date.now() - 1000) });
    expect((await fetch(`${endpoint.url}${expired}`, { method: 'PUT', body: data })).status).toBe(403);
    expect((await alice.api.images.get({ id: late.id })).status).toBe('queued');
  });
});
