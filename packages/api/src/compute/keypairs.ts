import { createHash, createPublicKey } from 'node:crypto';
import type { Queryable } from '@aster/db';
import { AsterError } from '../errors.ts';

/** Key types accepted for import, as OpenSSH names them. */
export const keyTypes = ['ssh-ed25519', 'ecdsa-sha2-nistp256', 'ecdsa-sha2-nistp384', 'ecdsa-sha2-nistp521', 'ssh-rsa'] as const;
export type KeyType = (typeof keyTypes)[number];

export const minRsaBits = 2048;
const maxRsaBits = 16384;
/** Far above any real key line (a 16384-bit RSA key is about 2.8 KB). */
export const maxPublicKeyLength = 16384;

const curves = {
  'ecdsa-sha2-nistp256': { name: 'nistp256', jwk: 'P-256', coordinate: 32 },
  'ecdsa-sha2-nistp384': { name: 'nistp384', jwk: 'P-384', coordinate: 48 },
  'ecdsa-sha2-nistp521': { name: 'nistp521', jwk: 'P-521', coordinate: 66 },
} as const;

export interface ParsedPublicKey {
  type: KeyType;
  /** The key data (SSH wire format), as base64 in the text. */
  blob: Buffer;
  comment: string;
  /** `SHA256:…` as `ssh-keygen -lf` prints it. */
  fingerprint: string;
  /** The legacy `aa:bb:…` MD5 form. */
  fingerprintMd5: string;
  /** One line: type, key data and comment, with the whitespace tidied. */
  normalized: string;
  /** RSA modulus or curve size, bits. */
  bits: number;
}

const invalid = (problem: string) => new AsterError('InvalidInput', `publicKey: ${problem}`);

/** Reads the SSH wire format (RFC 4251 §5): uint32 lengths, each followed by that many bytes. */
class WireReader {
  private offset = 0;
  constructor(private readonly data: Buffer) {}

  bytes(what: string): Buffer {
    if (this.offset + 4 > this.data.length) throw invalid(`the key data is truncated (missing the ${what})`);
    const length = this.data.readUInt32BE(this.offset);
    const start = this.offset + 4;
    if (start + length > this.data.length) throw invalid(`the key data is truncated (the ${what} needs ${length} bytes, ${this.data.length - start} remain)`);
    this.offset = start + length;
    return this.data.subarray(start, start + length);
  }

  text(what: string): string {
    const raw = this.bytes(what);
    const value = raw.toString('latin1');
    if (!/^[\x21-\x7e]*$/.test(value)) throw invalid(`the ${what} in the key data is not text`);
    return value;
  }

  /** A positive mpint, without its sign byte. */
  positive(what: string): Buffer {
    const raw = this.bytes(what);
    if (raw.length === 0 || (raw[0]! & 0x80) !== 0) throw invalid(`the RSA ${what} in the key data is not a positive number`);
    let start = 0;
    while (start < raw.length && raw[start] === 0) start++;
    return raw.subarray(start);
  }

  end(): void {
    const left = this.data.length - this.offset;
    if (left > 0) throw invalid(`the key data has ${left} unexpected bytes after the key`);
  }
}

function bitLength(n: Buffer): number {
  if (n.length === 0) return 0;
  return (n.length - 1) * 8 + (32 - Math.clz32(n[0]!));
}

function decodeBlob(base64: string): Buffer {
  if (!/^[A-Za-z0-9+/]+={0,2}$/.test(base64) || base64.length % 4 !== 0) {
    throw invalid('the key data is not valid base64');
  }
  const blob = Buffer.from(base64, 'base64');
  // Buffer.from skips what it cannot read; a round trip shows whether every character was meant.
  if (blob.toString('base64') !== base64) throw invalid('the key data is not valid base64');
  return blob;
}

/** Checks the key itself and answers its size in bits; `reader` is positioned after the type name. */
function readKey(type: KeyType, reader: WireReader): number {
  if (type === 'ssh-ed25519') {
    const key = reader.bytes('Ed25519 key');
    if (key.length !== 32) throw invalid(`an Ed25519 key is 32 bytes; this one has ${key.length}`);
    reader.end();
    return 256;
  }
  if (type === 'ssh-rsa') {
    const e = reader.positive('exponent');
    const n = reader.positive('modulus');
    reader.end();
    const bits = bitLength(n);
    if (bits < minRsaBits) throw invalid(`RSA keys must be at least ${minRsaBits} bits; this one has ${bits}`);
    if (bits > maxRsaBits) throw invalid(`RSA keys must be at most ${maxRsaBits} bits; this one has ${bits}`);
    if (bitLength(e) > 32 || (e[e.length - 1]! & 1) === 0 || (e.length === 1 && e[0]! < 3)) {
      throw invalid('the RSA exponent is not a usable public exponent (an odd number from 3 up)');
    }
    try {
      createPublicKey({ key: { kty: 'RSA', n: n.toString('base64url'), e: e.toString('base64url') }, format: 'jwk' });
    } catch {
      throw invalid('the RSA key is not a valid public key');
    }
    return bits;
  }
  const curve = curves[type];
  const name = reader.text('curve name');
  if (name !== curve.name) throw invalid(`the key type ${type} needs curve ${curve.name}, but the key data names ${name}`);
  const point = reader.bytes('curve point');
  reader.end();
  if (point.length !== 1 + 2 * curve.coordinate || point[0] !== 0x04) {
    throw invalid(`the ${curve.name} point is not an uncompressed point of ${1 + 2 * curve.coordinate} bytes`);
  }
  const x = point.subarray(1, 1 + curve.coordinate).toString('base64url');
  const y = point.subarray(1 + curve.coordinate).toString('base64url');
  try {
    createPublicKey({ key: { kty: 'EC', crv: curve.jwk, x, y }, format: 'jwk' });
  } catch {
    throw invalid(`the ${curve.name} point is not on the curve`);
  }
  return curve.coordinate === 66 ? 521 : curve.coordinate * 8;
}

export function fingerprintOf(blob: Buffer): string {
  return 'SHA256:' + createHash('sha256').update(blob).digest('base64').replace(/=+$/, '');
}

export function md5FingerprintOf(blob: Buffer): string {
  return createHash('md5').update(blob).digest('hex').replace(/(..)(?!$)/g, '$1:');
}

/**
 * Parses one OpenSSH public key line (`type base64 [comment]`), checking the key data for real: the type
 * inside it must match the text, and the key must be well formed (RSA at least 2048 bits).
 * Throws InvalidInput saying what is wrong.
 */
export function parsePublicKey(input: string): ParsedPublicKey {
  const text = input.trim();
  if (!text) throw invalid('must not be empty');
  if (text.length > maxPublicKeyLength) throw invalid(`must be at most ${maxPublicKeyLength} characters`);
  if (text.startsWith('----')) throw invalid('is in PEM or RFC 4716 format; give the OpenSSH one-line form (the .pub file, or ssh-keygen -i -f key)');
  if (/[\r\n]/.test(text)) throw invalid('must be one line (one key in OpenSSH format: type, key data, optional comment)');
  const [typeText, base64, ...rest] = text.split(/[ \t]+/);
  if (!typeText || !base64) throw invalid('must be an OpenSSH public key: type, key data, optional comment');
  if (!(keyTypes as readonly string[]).includes(typeText)) {
    throw invalid(`key type ${typeText.slice(0, 64)} is not supported; use one of ${keyTypes.join(', ')}`);
  }
  const type = typeText as KeyType;
  const blob = decodeBlob(base64);
  const reader = new WireReader(blob);
  const inner = reader.text('key type');
  if (inner !== type) throw invalid(`the key type in the text (${type}) does not match the key data (${inner.slice(0, 64) || 'empty'})`);
  const bits = readKey(type, reader);
  const comment = rest.join(' ');
  return {
    type,
    blob,
    comment,
    fingerprint: fingerprintOf(blob),
    fingerprintMd5: md5FingerprintOf(blob),
    normalized: comment ? `${type} ${base64} ${comment}` : `${type} ${base64}`,
    bits,
  };
}

/** The legacy MD5 fingerprint of a stored (already validated) key line. */
export function md5FingerprintOfLine(publicKey: string): string {
  return md5FingerprintOf(Buffer.from(publicKey.split(' ')[1] ?? '', 'base64'));
}

/** A user's key pair for a new server, or NotFound. */
export async function keypairForUser(
  db: Queryable,
  userId: string,
  name: string,
): Promise<{ name: string; publicKey: string; fingerprint: string }> {
  const { rows } = await db.query<{ name: string; public_key: string; fingerprint: string }>(
    'SELECT name, public_key, fingerprint FROM keypairs WHERE user_id = $1 AND name = $2',
    [userId, name],
  );
  const row = rows[0];
  if (!row) throw new AsterError('NotFound', `Key pair ${name} not found`);
  return { name: row.name, publicKey: row.public_key, fingerprint: row.fingerprint };
}
