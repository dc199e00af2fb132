import { readFile, realpath, stat } from 'node:fs/promises';
import { extname, join, sep } from 'node:path';
import { env } from '@/env';

/**
 * Debian's spice-html5 (ES modules under ASTER_SPICE_HTML5_DIR), served from this origin so the SPICE
 * console can import it. Only regular files inside that folder are served.
 */

const TYPES: Record<string, string> = {
  '.js': 'text/javascript; charset=utf-8',
  '.mjs': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.html': 'text/html; charset=utf-8',
  '.map': 'application/json; charset=utf-8',
  '.json': 'application/json; charset=utf-8',
  '.md': 'text/plain; charset=utf-8',
  '.png': 'image/png',
  '.svg': 'image/svg+xml',
  '.ico': 'image/x-icon',
};

const NOT_INSTALLED = 'the SPICE HTML5 client is not installed: apt-get install spice-html5\n';

function text(status: number, body: string): Response {
  return new Response(body, { status, headers: { 'content-type': 'text/plain; charset=utf-8', 'cache-control': 'no-store' } });
}

async function resolveInside(root: string, segments: string[]): Promise<string | null> {
  // Next decodes each segment: refuse any that could step out of or around the folder.
  if (segments.some((s) => s === '' || s === '.' || s === '..' || s.includes('/') || s.includes('\\') || s.includes('\0'))) return null;
  try {
    // The folder is a setting, not part of the build: keep the bundler from tracing these reads.
    const file = await realpath(/* turbopackIgnore: true */ join(root, ...segments));
    return file.startsWith(root + sep) && (await stat(/* turbopackIgnore: true */ file)).isFile() ? file : null;
  } catch {
    return null;
  }
}

export async function GET(_request: Request, { params }: { params: Promise<{ path: string[] }> }): Promise<Response> {
  const { path } = await params;
  let root: string;
  try {
    root = await realpath(/* turbopackIgnore: true */ env.ASTER_SPICE_HTML5_DIR);
  } catch {
    return text(404, NOT_INSTALLED);
  }
  const file = await resolveInside(root, path);
  if (!file) return text(404, `No such file in the SPICE HTML5 client: ${path.join('/')}\n`);
  const body = await readFile(/* turbopackIgnore: true */ file);
  return new Response(new Uint8Array(body), {
    headers: {
      'content-type': TYPES[extname(file).toLowerCase()] ?? 'application/octet-stream',
      'content-length': String(body.length),
      'cache-control': 'public, max-age=3600',
      'x-content-type-options': 'nosniff',
    },
  });
}
