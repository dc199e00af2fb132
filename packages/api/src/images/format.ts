import type { DiskFormat } from './schema.ts';

/** Pure inspection of an image's first bytes: what format it really is, and its virtual size. */

const QCOW2_MAGIC = Buffer.from([0x51, 0x46, 0x49, 0xfb]); // "QFI\xfb"
const ISO_SIGNATURE = Buffer.from('CD001', 'latin1');
const ISO_SIGNATURE_OFFSET = 0x8001; // the primary volume descriptor at sector 16, after its type byte

/** How many leading bytes the inspection needs (up to the end of the ISO 9660 signature). */
export const HEAD_BYTES = ISO_SIGNATURE_OFFSET + ISO_SIGNATURE.length;

export type Inspection =
  | { format: 'qcow2'; virtualSize: number | null; problem: string | null }
  | { format: 'iso' | 'raw'; virtualSize: number; problem: null };

/** Keeps the first HEAD_BYTES of a stream as its chunks go by, without holding more. */
export class HeadCollector {
  private readonly parts: Buffer[] = [];
  private length = 0;

  push(chunk: Buffer): void {
    if (this.length >= HEAD_BYTES) return;
    const part = chunk.subarray(0, HEAD_BYTES - this.length);
    // A copy, so that the caller's (possibly pooled) chunk is not kept alive.
    this.parts.push(Buffer.from(part));
    this.length += part.length;
  }

  head(): Buffer {
    return Buffer.concat(this.parts, this.length);
  }
}

export function inspectImage(head: Buffer, sizeBytes: number): Inspection {
  if (head.length >= 4 && head.subarray(0, 4).equals(QCOW2_MAGIC)) return inspectQcow2(head);
  const end = ISO_SIGNATURE_OFFSET + ISO_SIGNATURE.length;
  if (head.length >= end && head.subarray(ISO_SIGNATURE_OFFSET, end).equals(ISO_SIGNATURE)) {
    return { format: 'iso', virtualSize: sizeBytes, problem: null };
  }
  return { format: 'raw', virtualSize: sizeBytes, problem: null };
}

function inspectQcow2(head: Buffer): Inspection {
  const bad = (problem: string): Inspection => ({ format: 'qcow2', virtualSize: null, problem });
  if (head.length < 32) return bad(`qcow2 header is truncated (${head.length} bytes)`);
  const version = head.readUInt32BE(4);
  if (version !== 2 && version !== 3) return bad(`qcow2 version ${version} is not supported (only 2 and 3)`);
  const size = head.readBigUInt64BE(24);
  if (size > BigInt(Number.MAX_SAFE_INTEGER)) return bad(`qcow2 virtual size ${size} is too large`);
  const virtualSize = Number(size);
  // A backing file or an external data file would make the host read a file the uploader named.
  if (head.readBigUInt64BE(8) !== 0n) {
    return { format: 'qcow2', virtualSize, problem: 'qcow2 image has a backing file; upload a standalone image (qemu-img convert -O qcow2)' };
  }
  if (head.length >= 36 && head.readUInt32BE(32) !== 0) {
    return { format: 'qcow2', virtualSize, problem: 'qcow2 image is encrypted, which is not supported' };
  }
  if (version === 3 && head.length >= 80) {
    const incompatible = head.readBigUInt64BE(72);
    if (incompatible & 0b10n) return { format: 'qcow2', virtualSize, problem: 'qcow2 image is marked corrupt' };
    if (incompatible & 0b100n) {
      return { format: 'qcow2', virtualSize, problem: 'qcow2 image uses an external data file; upload a standalone image' };
    }
  }
  return { format: 'qcow2', virtualSize, problem: null };
}

const described = {
  qcow2: 'is a qcow2 image (it starts with the qcow2 magic QFI\\xfb)',
  iso: 'is an ISO 9660 image (CD001 at byte 32769)',
} as const;
const lacking = {
  qcow2: 'has no qcow2 header (the magic QFI\\xfb is missing)',
  iso: 'has no ISO 9660 signature (CD001 at byte 32769)',
} as const;

/**
 * Why the data cannot be an image of the declared format, or null when it can. Raw takes anything but a
 * qcow2 image (an ISO is a fine raw disk); qcow2 and iso need their own signatures.
 */
export function formatProblem(declared: DiskFormat, found: Inspection): string | null {
  const fits = declared === found.format || (declared === 'raw' && found.format === 'iso');
  if (!fits) {
    const what = found.format === 'raw' ? lacking[declared as 'qcow2' | 'iso'] : described[found.format];
    return `Disk format mismatch: declared ${declared}, but the data ${what}; create the image with the disk format of its data`;
  }
  return found.problem ? `Invalid image data: ${found.problem}` : null;
}
