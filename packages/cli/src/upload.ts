import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { open } from 'node:fs/promises';
import { request as httpRequest, type IncomingMessage } from 'node:http';
import { request as httpsRequest } from 'node:https';
import { Transform } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { CliError } from './errors.ts';
import { bytes } from './output.ts';

/** The disk format the file's first bytes show: a qcow2 header, an ISO 9660 volume descriptor, else raw. */
export async function sniffDiskFormat(path: string): Promise<'qcow2' | 'iso' | 'raw'> {
  const file = await open(path, 'r');
  try {
    const head = Buffer.alloc(32774);
    const { bytesRead } = await file.read(head, 0, head.length, 0);
    if (bytesRead >= 4 && head.subarray(0, 4).equals(Buffer.from([0x51, 0x46, 0x49, 0xfb]))) return 'qcow2';
    if (bytesRead >= 32774 && head.subarray(32769, 32774).toString('latin1') === 'CD001') return 'iso';
    return 'raw';
  } finally {
    await file.close();
  }
}

export interface UploadResult {
  status: number;
  body: string;
  sha256: string;
}

/**
 * Streams a file as the body of PUT <url>/v1/images/<id>/file with the bearer token, hashing it on the way,
 * and calls `progress` with the bytes sent so far (at most every 200 ms, and once at the end).
 */
export async function putImageFile(
  base: string,
  token: string,
  imageId: string,
  path: string,
  size: number,
  progress?: (sent: number) => void,
): Promise<UploadResult> {
  const target = new URL(`/v1/images/${encodeURIComponent(imageId)}/file`, base.endsWith('/') ? base : `${base}/`);
  const request = target.protocol === 'https:' ? httpsRequest : httpRequest;
  const hash = createHash('sha256');
  let sent = 0;
  let told = 0;
  const meter = new Transform({
    transform(chunk: Buffer, _encoding, callback) {
      hash.update(chunk);
      sent += chunk.length;
      if (progress && Date.now() - told >= 200) {
        told = Date.now();
        progress(sent);
      }
      callback(null, chunk);
    },
  });
  const req = request(target, {
    method: 'PUT',
    headers: { authorization: `Bearer ${token}`, 'content-type': 'application/octet-stream', 'content-length': String(size) },
  });
  const answered = new Promise<IncomingMessage>((resolve, reject) => {
    req.once('response', resolve);
    req.once('error', reject);
  });
  // The API may answer (and refuse) before the whole body is sent: that answer is the one to report.
  const sending = pipeline(createReadStream(path), meter, req).catch((error: unknown) => error);
  const response = await answered;
  const chunks: Buffer[] = [];
  for await (const chunk of response) chunks.push(chunk as Buffer);
  const sendError = await sending;
  const status = response.statusCode ?? 0;
  if (sendError && status < 400) throw sendError;
  progress?.(sent);
  return { status, body: Buffer.concat(chunks).toString('utf8'), sha256: hash.digest('hex') };
}

/** A progress line for a terminal, rewritten in place. */
export function progressLine(name: string, sent: number, size: number): string {
  const percent = size ? Math.floor((sent / size) * 100) : 100;
  return `\r\u001b[2KUploading ${name}: ${percent}% (${bytes(sent)} of ${bytes(size)})`;
}

/** The API's `{ error }` answer, or the body itself when it is not one. */
export function uploadError(result: UploadResult): CliError {
  try {
    const parsed = JSON.parse(result.body) as { error?: unknown };
    if (typeof parsed.error === 'string') return new CliError(parsed.error);
  } catch {
    // not JSON: shown as it came below
  }
  return new CliError(`The upload failed with HTTP ${result.status}: ${result.body.slice(0, 500) || 'no answer'}`);
}
