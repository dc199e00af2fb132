import { describe, expect, it } from 'vitest';
import { parseRange } from '../src/images/download.ts';
import { formatProblem, HEAD_BYTES, HeadCollector, inspectImage } from '../src/images/format.ts';

/** A qcow2 header: magic, version, virtual size at byte 24, and optionally a backing file offset. */
function qcow2(virtualSize: bigint, options: { version?: number; backing?: bigint; incompatible?: bigint; length?: number } = {}) {
  const b = Buffer.alloc(options.length ?? 512);
  Buffer.from('QFI\xfb', 'latin1').copy(b, 0);
  b.writeUInt32BE(options.version ?? 3, 4);
  if (b.length >= 16) b.writeBigUInt64BE(options.backing ?? 0n, 8);
  if (b.length >= 32) b.writeBigUInt64BE(virtualSize, 24);
  if (b.length >= 80) b.writeBigUInt64BE(options.incompatible ?? 0n, 72);
  return b;
}

function iso(size = 0x9000) {
  const b = Buffer.alloc(size);
  b.write('\x01CD001', 0x8000, 'latin1');
  return b;
}

describe('inspectImage', () => {
  it('reads the virtual size of a qcow2 image from its header', () => {
    expect(inspectImage(qcow2(10n * 1024n ** 3n), 512)).toEqual({ format: 'qcow2', virtualSize: 10 * 1024 ** 3, problem: null });
    expect(inspectImage(qcow2(1n << 20n, { version: 2 }), 512)).toMatchObject({ format: 'qcow2', virtualSize: 1 << 20, problem: null });
  });

  it('knows an ISO 9660 image by CD001 at byte 0x8001, and anything else as raw', () => {
    expect(inspectImage(iso(), 0x9000)).toEqual({ format: 'iso', virtualSize: 0x9000, problem: null });
    expect(inspectImage(Buffer.from('just some bytes'), 15)).toEqual({ format: 'raw', virtualSize: 15, problem: null });
    // Too short to hold the ISO signature: raw.
    expect(inspectImage(iso().subarray(0, 0x8004), 0x8004)).toMatchObject({ format: 'raw' });
  });

  it('refuses qcow2 images the host could not use safely', () => {
    expect(inspectImage(qcow2(1n, { backing: 512n }), 512).problem).toMatch(/has a backing file/);
    expect(inspectImage(qcow2(1n, { incompatible: 0b100n }), 512).problem).toMatch(/external data file/);
    expect(inspectImage(qcow2(1n, { version: 4 }), 512).problem).toBe('qcow2 version 4 is not supported (only 2 and 3)');
    expect(inspectImage(qcow2(1n, { length: 20 }), 20).problem).toBe('qcow2 header is truncated (20 bytes)');
  });
});

describe('formatProblem', () => {
  const raw = inspectImage(Buffer.from('plain'), 5);
  it('accepts data of the declared format, and an ISO as a raw disk', () => {
    expect(formatProblem('qcow2', inspectImage(qcow2(1n), 512))).toBeNull();
    expect(formatProblem('iso', inspectImage(iso(), 0x9000))).toBeNull();
    expect(formatProblem('raw', raw)).toBeNull();
    expect(formatProblem('raw', inspectImage(iso(), 0x9000))).toBeNull();
  });

  it('names the mismatch', () => {
    expect(formatProblem('raw', inspectImage(qcow2(1n), 512))).toBe(
      'Disk format mismatch: declared raw, but the data is a qcow2 image (it starts with the qcow2 magic QFI\\xfb); create the image with the disk format of its data',
    );
    expect(formatProblem('qcow2', raw)).toMatch(/declared qcow2, but the data has no qcow2 header \(the magic QFI\\xfb is missing\)/);
    expect(formatProblem('iso', raw)).toMatch(/declared iso, but the data has no ISO 9660 signature \(CD001 at byte 32769\)/);
    expect(formatProblem('qcow2', inspectImage(iso(), 0x9000))).toMatch(/declared qcow2, but the data is an ISO 9660 image/);
    expect(formatProblem('qcow2', inspectImage(qcow2(1n, { backing: 8n }), 512))).toMatch(/^Invalid image data: qcow2 image has a backing file/);
  });
});

describe('HeadCollector', () => {
  it('keeps exactly the first bytes the inspection needs, across chunks', () => {
    const head = new HeadCollector();
    const data = iso(0x10000);
    for (let at = 0; at < data.length; at += 1000) head.push(data.subarray(at, at + 1000));
    expect(head.head().length).toBe(HEAD_BYTES);
    expect(head.head().equals(data.subarray(0, HEAD_BYTES))).toBe(true);
    const small = new HeadCollector();
    small.push(Buffer.from('ab'));
    small.push(Buffer.from('cd'));
    expect(small.head().toString()).toBe('abcd');
  });
});

describe('parseRange', () => {
  it.each([
    [undefined, null],
    ['bytes=0-9', { start: 0, end: 9 }],
    ['bytes=10-', { start: 10, end: 99 }],
    ['bytes=-10', { start: 90, end: 99 }],
    ['bytes=-500', { start: 0, end: 99 }],
    ['bytes=90-500', { start: 90, end: 99 }],
    ['bytes=100-', 'unsatisfiable'],
    ['bytes=-0', 'unsatisfiable'],
    ['bytes=9-3', null],
    ['bytes=0-1,5-6', null],
    ['items=0-1', null],
    ['bytes=-', null],
  ])('%s of 100 bytes → %o', (header, expected) => {
    expect(parseRange(header, 100)).toEqual(expected);
  });
});
