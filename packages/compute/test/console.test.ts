import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { CONSOLE_TOKEN_COOKIE, CONSOLE_TYPES, hashConsoleToken } from '../src/index.ts';
import { instanceSpec } from '../src/specs.ts';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..');

/** Every module `file` loads, following its relative imports; the other imports are listed as they are written. */
function importsOf(file: string, seen = new Set<string>()): { files: Set<string>; external: Set<string> } {
  const external = new Set<string>();
  const visit = (path: string) => {
    if (seen.has(path)) return;
    seen.add(path);
    for (const [, from] of readFileSync(path, 'utf8').matchAll(/^(?:import|export)\b[^;]*?\bfrom\s+'([^']+)'/gms)) {
      if (from!.startsWith('.')) visit(join(dirname(path), from!));
      else external.add(from!);
    }
  };
  visit(file);
  return { files: seen, external };
}

describe('consoles', () => {
  it('hash a token as SHA-256 of its UTF-8 text, the way the proxy looks it up', () => {
    expect(hashConsoleToken('abc').toString('hex')).toBe('ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad');
    expect(hashConsoleToken('é')).toEqual(createHash('sha256').update(Buffer.from([0xc3, 0xa9])).digest());
  });

  it('are of the three types, and the proxy reads the cookie the console page sets', () => {
    expect(CONSOLE_TYPES).toEqual(['novnc', 'spice-html5', 'serial']);
    expect(CONSOLE_TOKEN_COOKIE).toBe('aster_console_token');
  });

  it('load in a browser: the subpaths the web console imports reach no Node module and no zod', () => {
    const pkg = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')) as { exports: Record<string, string> };
    for (const subpath of ['./states', './console']) {
      const { external } = importsOf(join(root, pkg.exports[subpath]!));
      expect([...external], subpath).toEqual([]);
    }
    // The root and the specs are for Node: they do load Node's crypto and zod (the check above can fail).
    expect(importsOf(join(root, pkg.exports['.']!)).external).toContain('node:crypto');
    expect(importsOf(join(root, pkg.exports['./specs']!)).external).toContain('zod');
  });
});

describe('the instance spec', () => {
  it('fills in what an older sender left out, and refuses what is not an instance', () => {
    const spec = instanceSpec.parse({
      id: '3f0c9a52-1b7e-4c2d-9e8f-0a1b2c3d4e5f',
      name: 'web-1',
      hostname: 'web-1',
      projectId: '11111111-2222-4333-8444-555555555555',
      flavor: { id: '66666666-7777-4888-9999-000000000000', name: 'm1.tiny', vcpus: 1, ramMb: 128, diskGb: 1 },
      image: { id: 'aaaaaaaa-bbbb-4ccc-8ddd-eeeeeeeeeeee', name: 'tiny', diskFormat: 'qcow2', checksumSha256: null, sizeBytes: null, downloadPath: '/v1/images/x/file' },
      ports: [],
      keyName: null,
      keyData: null,
      userData: null,
      metadata: {},
      createdAt: new Date(0).toISOString(),
    });
    expect(spec).toMatchObject({ reservationId: '', launchIndex: 0, flavor: { extraSpecs: {} }, image: { properties: {} } });
    expect(() => instanceSpec.parse({ ...spec, id: 'not-a-uuid' })).toThrow();
  });
});
