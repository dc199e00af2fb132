import { createReadStream } from 'node:fs';
import { stat } from 'node:fs/promises';
import { request as httpRequest, type IncomingMessage } from 'node:http';
import { request as httpsRequest } from 'node:https';
import { pipeline } from 'node:stream/promises';
import { DriverError } from '@aster/virt';

const MAX_ERROR_BODY = 64 * 1024;
const UPLOAD_IDLE_MS = 5 * 60_000;

/** PUTs a file to `url`, streamed from disk; rejects with the API's own words when it refuses the data. */
export async function putFile(url: string, path: string, diskFormat: string): Promise<void> {
  const { size } = await stat(path);
  const target = new URL(url);
  const send = target.protocol === 'https:' ? httpsRequest : httpRequest;
  const request = send(target, {
    method: 'PUT',
    headers: { 'content-type': 'application/octet-stream', 'content-length': size, 'x-image-disk-format': diskFormat },
  });
  // An API that stops answering mid-upload must not hold the instance's queue forever.
  request.setTimeout(UPLOAD_IDLE_MS, () => request.destroy(new Error(`the API did not answer for ${UPLOAD_IDLE_MS / 1000} s during the snapshot upload`)));
  const answered = new Promise<IncomingMessage>((resolve, reject) => {
    request.once('response', resolve);
    request.once('error', reject);
  });
  // The API may answer (a refusal) before it has read the whole body: its answer says more than a broken pipe.
  const sent = pipeline(createReadStream(path), request).catch((error: unknown) => error);
  const response = await answered;
  response.setEncoding('utf8');
  let body = '';
  for await (const chunk of response) if (body.length < MAX_ERROR_BODY) body += chunk as string;
  await sent;
  if (response.statusCode === 200) return;
  let message = body.slice(0, 500);
  try {
    message = (JSON.parse(body) as { error?: string }).error ?? message;
  } catch {
    // not JSON: the text as it came
  }
  throw new DriverError(`uploading the snapshot failed (HTTP ${response.statusCode}): ${message}`);
}
