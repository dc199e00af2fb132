import { execFileSync } from 'node:child_process';
import { generateKeyPairSync } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { useTestDatabase } from '@aster/db/testing';
import { afterAll, describe, expect, it } from 'vitest';
import { keypairForUser, parsePublicKey } from '../src/compute/keypairs.ts';
import { AsterError } from '../src/errors.ts';
import { adminSession, expectError, userSession } from './harness.ts';

const db = useTestDatabase();

// OpenSSH's wire format, written here independently of the parser under test.
const u32 = (n: number) => {
  const b = Buffer.alloc(4);
  b.writeUInt32BE(n);
  return b;
};
const sshString = (data: Buffer | string) => {
  const b = typeof data === 'string' ? Buffer.from(data) : data;
  return Buffer.concat([u32(b.length), b]);
};
const mpint = (n: Buffer) => {
  let i = 0;
  while (i < n.length - 1 && n[i] === 0) i++;
  const v = n.subarray(i);
  return sshString(v[0]! & 0x80 ? Buffer.concat([Buffer.from([0]), v]) : v);
};
const b64url = (s: string | undefined) => Buffer.from(s ?? '', 'base64url');
const line = (type: string, blob: Buffer, comment = '') => `${type} ${blob.toString('base64')}${comment ? ` ${comment}` : ''}`;

function ed25519Blob(): Buffer {
  const jwk = generateKeyPairSync('ed25519').publicKey.export({ format: 'jwk' });
  return Buffer.concat([sshString('ssh-ed25519'), sshString(b64url(jwk.x))]);
}
function rsaBlob(bits: number): Buffer {
  const jwk = generateKeyPairSync('rsa', { modulusLength: bits }).publicKey.export({ format: 'jwk' });
  return Buffer.concat([sshString('ssh-rsa'), mpint(b64url(jwk.e)), mpint(b64url(jwk.n))]);
}
function ecdsaBlob(curve: 'nistp256' | 'nistp384' | 'nistp521'): Buffer {
  const named = { nistp256: 'P-256', nistp384: 'P-384', nistp521: 'P-521' }[curve];
  const jwk = generateKeyPairSync('ec', { namedCurve: named }).publicKey.export({ format: 'jwk' });
  const point = Buffer.concat([Buffer.from([4]), b64url(jwk.x), b64url(jwk.y)]);
  return Buffer.concat([sshString(`ecdsa-sha2-${curve}`), sshString(curve), sshString(point)]);
}

const hasSshKeygen = (() => {
  try {
    execFileSync('ssh-keygen', ['-?'], { stdio: 'ignore' });
    return true;
  } catch (error) {
    return (error as { code?: string }).code !== 'ENOENT';
  }
})();
const dir = mkdtempSync(join(tmpdir(), 'aster-keys-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** A key made by ssh-keygen where it is installed, else by node:crypto in OpenSSH's format. */
function realKey(type: 'ed25519' | 'rsa' | 'ecdsa', bits?: number): string {
  if (!hasSshKeygen) {
    if (type === 'ed25519') return line('ssh-ed25519', ed25519Blob(), 'made@node');
    if (type === 'rsa') return line('ssh-rsa', rsaBlob(bits ?? 3072), 'made@node');
    const curve = `nistp${bits ?? 256}` as 'nistp256';
    return line(`ecdsa-sha2-${curve}`, ecdsaBlob(curve), 'made@node');
  }
  const file = join(dir, `${type}-${bits ?? 0}-${Math.random().toString(36).slice(2)}`);
  execFileSync('ssh-keygen', ['-q', '-t', type, ...(bits ? ['-b', String(bits)] : []), '-N', '', '-C', `${type}@test`, '-f', file]);
  return readFileSync(`${file}.pub`, 'utf8');
}

/** ssh-keygen's own fingerprints of a key line, to compare ours with. */
function keygenFingerprints(publicKey: string): { sha256: string; md5: string } {
  const file = join(dir, `fp-${Math.random().toString(36).slice(2)}.pub`);
  writeFileSync(file, publicKey);
  const fp = (hash: string) => execFileSync('ssh-keygen', ['-l', '-E', hash, '-f', file], { encoding: 'utf8' }).split(' ')[1]!;
  return { sha256: fp('sha256'), md5: fp('md5').replace(/^MD5:/, '') };
}

const problem = (text: string) => {
  try {
    parsePublicKey(text);
  } catch (error) {
    expect(error).toBeInstanceOf(AsterError);
    expect((error as AsterError).code).toBe('InvalidInput');
    return (error as AsterError).message;
  }
  throw new Error('expected the key to be refused');
};

describe('parsePublicKey', () => {
  it.each([
    ['ed25519', undefined, 'ssh-ed25519', 256],
    ['rsa', 2048, 'ssh-rsa', 2048],
    ['rsa', 4096, 'ssh-rsa', 4096],
    ['ecdsa', 256, 'ecdsa-sha2-nistp256', 256],
    ['ecdsa', 384, 'ecdsa-sha2-nistp384', 384],
    ['ecdsa', 521, 'ecdsa-sha2-nistp521', 521],
  ] as const)('reads a real %s key (%s bits) and fingerprints it as ssh-keygen does', (kind, bits, type, size) => {
    const text = realKey(kind, bits);
    const key = parsePublicKey(text);
    expect(key).toMatchObject({ type, bits: size, normalized: text.trim() });
    expect(key.fingerprint).toMatch(/^SHA256:[A-Za-z0-9+/]{43}$/);
    expect(key.fingerprintMd5).toMatch(/^([0-9a-f]{2}:){15}[0-9a-f]{2}$/);
    if (hasSshKeygen) expect(keygenFingerprints(text)).toEqual({ sha256: key.fingerprint, md5: key.fingerprintMd5 });
  });

  it('keeps the comment, tidies whitespace, and takes keys made in node:crypto alike', () => {
    const blob = ed25519Blob();
    const key = parsePublicKey(`  ssh-ed25519 \t${blob.toString('base64')}   me@laptop  work key \n`);
    expect(key.comment).toBe('me@laptop work key');
    expect(key.normalized).toBe(`ssh-ed25519 ${blob.toString('base64')} me@laptop work key`);
    expect(parsePublicKey(line('ssh-ed25519', blob)).comment).toBe('');
    expect(parsePublicKey(line('ecdsa-sha2-nistp384', ecdsaBlob('nistp384'))).type).toBe('ecdsa-sha2-nistp384');
    const rsa = line('ssh-rsa', rsaBlob(2048));
    expect(parsePublicKey(rsa).bits).toBe(2048);
    if (hasSshKeygen) expect(keygenFingerprints(rsa).sha256).toBe(parsePublicKey(rsa).fingerprint);
  });

  it('refuses RSA keys under 2048 bits, saying how long the key is', () => {
    expect(problem(line('ssh-rsa', rsaBlob(1024)))).toBe('publicKey: RSA keys must be at least 2048 bits; this one has 1024');
  });

  it('refuses garbage, truncated key data, a type that does not match the data, and malformed keys', () => {
    const ed = ed25519Blob();
    const ec = ecdsaBlob('nistp256');
    expect(problem('')).toBe('publicKey: must not be empty');
    expect(problem('hello')).toMatch(/must be an OpenSSH public key: type, key data, optional comment/);
    expect(problem('ssh-dss AAAAB3NzaC1kc3M=')).toMatch(/key type ssh-dss is not supported; use one of ssh-ed25519, ecdsa-sha2-nistp256/);
    expect(problem('ssh-ed25519 not*base64!')).toBe('publicKey: the key data is not valid base64');
    expect(problem('ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAI')).toBe('publicKey: the key data is not valid base64');
    expect(problem('-----BEGIN PUBLIC KEY-----\nMCow\n-----END PUBLIC KEY-----')).toMatch(/is in PEM or RFC 4716 format/);
    expect(problem('---- BEGIN SSH2 PUBLIC KEY ----\nAAAA\n---- END SSH2 PUBLIC KEY ----')).toMatch(/is in PEM or RFC 4716 format/);
    expect(problem(`${line('ssh-ed25519', ed)}\n${line('ssh-ed25519', ed)}`)).toMatch(/must be one line/);
    expect(problem(line('ssh-ed25519', ed.subarray(0, ed.length - 8)))).toBe('publicKey: the key data is truncated (the Ed25519 key needs 32 bytes, 24 remain)');
    expect(problem(line('ssh-ed25519', ed.subarray(0, 15)))).toBe('publicKey: the key data is truncated (missing the Ed25519 key)');
    expect(problem(line('ssh-ed25519', ed.subarray(0, 2)))).toBe('publicKey: the key data is truncated (missing the key type)');
    expect(problem(line('ssh-rsa', ed))).toBe('publicKey: the key type in the text (ssh-rsa) does not match the key data (ssh-ed25519)');
    expect(problem(line('ecdsa-sha2-nistp384', ec))).toBe('publicKey: the key type in the text (ecdsa-sha2-nistp384) does not match the key data (ecdsa-sha2-nistp256)');
    expect(problem(line('ssh-ed25519', Buffer.concat([ed, Buffer.from([1, 2, 3])])))).toBe('publicKey: the key data has 3 unexpected bytes after the key');
    expect(problem(line('ssh-ed25519', Buffer.concat([sshString('ssh-ed25519'), sshString(Buffer.alloc(31))])))).toBe(
      'publicKey: an Ed25519 key is 32 bytes; this one has 31',
    );
    const wrongCurve = Buffer.concat([sshString('ecdsa-sha2-nistp256'), sshString('nistp384'), ec.subarray(ec.length - 69)]);
    expect(problem(line('ecdsa-sha2-nistp256', wrongCurve))).toMatch(/needs curve nistp256, but the key data names nistp384/);
    const offCurve = Buffer.from(ec);
    offCurve[offCurve.length - 1]! ^= 1;
    expect(problem(line('ecdsa-sha2-nistp256', offCurve))).toBe('publicKey: the nistp256 point is not on the curve');
    const compressed = Buffer.concat([sshString('ecdsa-sha2-nistp256'), sshString('nistp256'), sshString(Buffer.alloc(33, 2))]);
    expect(problem(line('ecdsa-sha2-nistp256', compressed))).toMatch(/is not an uncompressed point of 65 bytes/);
    const rsa = rsaBlob(2048);
    const evenExponent = Buffer.concat([sshString('ssh-rsa'), mpint(Buffer.from([1, 0, 0])), rsa.subarray(4 + 7 + 4 + 3)]);
    expect(problem(line('ssh-rsa', evenExponent))).toMatch(/the RSA exponent is not a usable public exponent/);
    const negative = Buffer.concat([sshString('ssh-rsa'), sshString(Buffer.from([0x81])), rsa.subarray(4 + 7 + 4 + 3)]);
    expect(problem(line('ssh-rsa', negative))).toMatch(/the RSA exponent in the key data is not a positive number/);
  });
});

describe('key pairs', () => {
  it('are imported, listed, read and deleted by their owner only', async () => {
    const admin = await adminSession(db.pool);
    const reader = await userSession(db.pool, admin.api, { name: 'kp-reader', project: 'kp-a', role: 'reader' });
    const other = await userSession(db.pool, admin.api, { name: 'kp-other', project: 'kp-a', role: 'member' });
    const text = realKey('ed25519');
    const imported = await reader.api.keypairs.import({ name: 'laptop', publicKey: text });
    const parsed = parsePublicKey(text);
    expect(imported).toEqual({
      name: 'laptop',
      type: 'ssh-ed25519',
      fingerprint: parsed.fingerprint,
      fingerprintMd5: parsed.fingerprintMd5,
      publicKey: text.trim(),
      createdAt: expect.any(String),
    });
    await reader.api.keypairs.import({ name: 'desktop', publicKey: realKey('ecdsa', 256) });
    expect((await reader.api.keypairs.list()).map((k) => k.name)).toEqual(['desktop', 'laptop']);
    await expect(reader.api.keypairs.get({ name: 'laptop' })).resolves.toEqual(imported);
    await expect(keypairForUser(db.pool, reader.user.id, 'laptop')).resolves.toEqual({
      name: 'laptop',
      publicKey: text.trim(),
      fingerprint: parsed.fingerprint,
    });

    // The same name belongs to each user separately; other users, administrators included, see only their own.
    await expect(other.api.keypairs.import({ name: 'laptop', publicKey: text })).resolves.toMatchObject({ name: 'laptop' });
    expect((await admin.api.keypairs.list()).map((k) => k.name)).toEqual([]);
    await expectError(admin.api.keypairs.get({ name: 'desktop' }), 'NOT_FOUND', /^Key pair desktop not found$/);
    await expectError(other.api.keypairs.delete({ name: 'desktop' }), 'NOT_FOUND', /^Key pair desktop not found$/);
    await expect(keypairForUser(db.pool, other.user.id, 'desktop')).rejects.toMatchObject({ code: 'NotFound', message: 'Key pair desktop not found' });

    await expect(reader.api.keypairs.delete({ name: 'desktop' })).resolves.toEqual({ name: 'desktop' });
    await expectError(reader.api.keypairs.delete({ name: 'desktop' }), 'NOT_FOUND', /^Key pair desktop not found$/);
    expect((await reader.api.keypairs.list()).map((k) => k.name)).toEqual(['laptop']);
  });

  it('refuses duplicates, bad names and bad keys without writing anything', async () => {
    const admin = await adminSession(db.pool);
    const m = await userSession(db.pool, admin.api, { name: 'kp-dup', project: 'kp-b', role: 'member' });
    await m.api.keypairs.import({ name: 'main', publicKey: realKey('ed25519') });
    const before = (await db.pool.query('SELECT * FROM keypairs ORDER BY id')).rows;
    await expectError(m.api.keypairs.import({ name: 'main', publicKey: realKey('ed25519') }), 'CONFLICT', /^You already have a key pair named main$/);
    await expectError(m.api.keypairs.import({ name: 'bad name', publicKey: realKey('ed25519') }), 'BAD_REQUEST', /name: must start with a letter or digit/);
    await expectError(m.api.keypairs.import({ name: '', publicKey: realKey('ed25519') }), 'BAD_REQUEST', /name: must not be empty/);
    await expectError(m.api.keypairs.get({ name: 'x'.repeat(65) }), 'BAD_REQUEST', /name: must be at most 64 characters/);
    await expectError(m.api.keypairs.delete({ name: '../main' }), 'BAD_REQUEST', /name: must start with a letter or digit/);
    await expectError(
      m.api.keypairs.import({ name: 'short', publicKey: line('ssh-rsa', rsaBlob(1024)) }),
      'BAD_REQUEST',
      /^publicKey: RSA keys must be at least 2048 bits; this one has 1024$/,
    );
    await expectError(m.api.keypairs.import({ name: 'junk', publicKey: 'ssh-ed25519 Zm9vYmFy' }), 'BAD_REQUEST', /publicKey: the key data is truncated/);
    await expectError(m.api.keypairs.import({ name: 'huge', publicKey: 'a'.repeat(20000) }), 'BAD_REQUEST', /publicKey: must be at most 16384 characters/);
    expect((await db.pool.query('SELECT * FROM keypairs ORDER BY id')).rows).toEqual(before);
  });

  it('count against the keypairs quota of the caller’s project, per user', async () => {
    const admin = await adminSession(db.pool);
    const m = await userSession(db.pool, admin.api, { name: 'kp-quota', project: 'kp-q', role: 'member' });
    const n = await userSession(db.pool, admin.api, { name: 'kp-quota2', project: 'kp-q', role: 'member' });
    await admin.api.quotas.set({ project: 'kp-q', limits: { keypairs: 2 } });
    await m.api.keypairs.import({ name: 'one', publicKey: realKey('ed25519') });
    await m.api.keypairs.import({ name: 'two', publicKey: realKey('ed25519') });
    await expectError(
      m.api.keypairs.import({ name: 'three', publicKey: realKey('ed25519') }),
      'FORBIDDEN',
      /^Quota exceeded for keypairs: 1 requested, 2 of 2 in use \(1 over the limit\)$/,
    );
    // Another user of the same project has key pairs of their own to count.
    await expect(n.api.keypairs.import({ name: 'one', publicKey: realKey('ed25519') })).resolves.toMatchObject({ name: 'one' });
    await m.api.keypairs.delete({ name: 'one' });
    await expect(m.api.keypairs.import({ name: 'three', publicKey: realKey('ed25519') })).resolves.toMatchObject({ name: 'three' });
    await expect(m.api.limits.get()).resolves.toMatchObject({ limits: { keypairs: 2 }, usage: { keypairs: 2 }, remaining: { keypairs: 0 } });
  });
});
