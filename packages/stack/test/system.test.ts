import { describe, expect, it } from 'vitest';
// @ts-expect-error -- a plain ES module of the zero-dependency bootstrap, without type declarations
import { planSystemInstall } from '../../../scripts/system-packages.mjs';

type Plan = { action: 'none' } | { action: 'install'; debs: string[]; message: string } | { action: 'stop'; message: string };
const plan = planSystemInstall as (facts: object) => Plan;

const fake = (present: boolean) => [
  { name: 'PostgreSQL server', debs: ['postgresql-15'], present: () => present, needed: (_: string, env: Record<string, string>) => !env.DATABASE_URL },
  { name: 'Chromium (browser tests)', debs: ['chromium'], present: () => false, needed: (command: string) => command === 'test' },
];

describe('system packages', () => {
  it('installs what is missing, as root on Debian', () => {
    expect(plan({ command: 'test', env: {}, isRoot: true, debianLike: true, components: fake(false) })).toEqual({
      action: 'install',
      debs: ['postgresql-15', 'chromium'],
      message: 'Installing system packages:\n  - PostgreSQL server: postgresql-15\n  - Chromium (browser tests): chromium',
    });
  });

  it('needs only what the command uses', () => {
    expect(plan({ command: 'start', env: {}, isRoot: true, debianLike: true, components: fake(true) })).toEqual({ action: 'none' });
    expect(plan({ command: 'start', env: { DATABASE_URL: 'postgresql://x' }, isRoot: true, debianLike: true, components: fake(false) })).toEqual({ action: 'none' });
  });

  it('prints the exact apt-get line when told not to install', () => {
    const result = plan({ command: 'start', env: { ASTER_NO_SYSTEM_INSTALL: '1' }, isRoot: true, debianLike: true, components: fake(false) });
    expect(result.action).toBe('stop');
    expect((result as { message: string }).message).toContain('apt-get update && apt-get install -y --no-install-recommends postgresql-15');
  });

  it('says what to install without root, or on a machine without apt-get', () => {
    const notRoot = plan({ command: 'start', env: {}, isRoot: false, debianLike: true, components: fake(false) });
    expect(notRoot).toMatchObject({ action: 'stop', message: expect.stringContaining('installing them needs root') });
    const other = plan({ command: 'start', env: {}, isRoot: true, debianLike: false, components: fake(false) });
    expect(other).toMatchObject({ action: 'stop', message: expect.stringContaining('not Debian-like') });
    expect((other as { message: string }).message).toContain('PostgreSQL server: postgresql-15');
  });
});
