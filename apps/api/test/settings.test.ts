import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const root = fileURLToPath(new URL('../../../', import.meta.url));

function start(main: string, env: Record<string, string>) {
  return spawnSync(process.execPath, ['--import', 'tsx', main], {
    cwd: root,
    env: { PATH: process.env.PATH ?? '', ...env },
    encoding: 'utf8',
    timeout: 20_000,
  });
}

describe('a bad setting stops a process at start, naming the variable', () => {
  it.each([
    ['apps/api/src/main.ts', { DATABASE_URL: 'postgresql://x@127.0.0.1/x', ASTER_API_PORT: 'http' }, /ASTER_API_PORT: must be a port number \(got "http"\)/],
    ['apps/api/src/main.ts', { DATABASE_URL: 'mysql://x' }, /DATABASE_URL: must be a postgres:\/\/ or postgresql:\/\/ URL/],
    ['apps/api/src/main.ts', {}, /DATABASE_URL: /],
    ['apps/api/src/main.ts', { DATABASE_URL: 'postgresql://x@127.0.0.1/x', ASTER_ROLES: 'api,janitor' }, /ASTER_ROLES: each role must be one of api, scheduler, conductor, network \(got "api,janitor"\)/],
    ['apps/proxy/src/main.ts', { ASTER_PROXY_PORT: '0' }, /ASTER_PROXY_PORT: must be a port number from 1 to 65535/],
    ['apps/compute-agent/src/main.ts', { ASTER_COMPUTE_HOST: 'bad host!' }, /ASTER_COMPUTE_HOST: must be a host name/],
    ['apps/compute-agent/src/main.ts', { ASTER_LOG_LEVEL: 'loud' }, /ASTER_LOG_LEVEL: must be one of debug, info, warn, error/],
    ['apps/api/src/main.ts', { DATABASE_URL: 'postgresql://x@127.0.0.1/x', ASTER_JOB_VERSION_CAPS: 'buildInstance=two' }, /ASTER_JOB_VERSION_CAPS: version cap "buildInstance=two" is not job=version or job@queue=version/],
    ['apps/compute-agent/src/main.ts', { ASTER_JOB_VERSION_CAPS: 'buildResult@conductor=0' }, /ASTER_JOB_VERSION_CAPS: version cap "buildResult@conductor=0" is not job=version/],
  ])('%s with %o', (main, env, message) => {
    const result = start(main, env);
    expect(result.status).toBe(78);
    expect(result.stderr).toMatch(message);
    expect(result.stderr).not.toMatch(/\n\s+at /);
  });
});
