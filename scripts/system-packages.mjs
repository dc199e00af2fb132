// System components Aster needs from the operating system, one entry each. The bootstrap installs the
// missing ones with apt-get before anything else runs. Adding a component is adding an entry here.
import { existsSync, readdirSync } from 'node:fs';

const anyPostgres = () =>
  existsSync('/usr/lib/postgresql') &&
  readdirSync('/usr/lib/postgresql').some((v) => existsSync(`/usr/lib/postgresql/${v}/bin/postgres`));

/**
 * @typedef {object} Component
 * @property {string} name what it is for, shown when it is installed
 * @property {string[]} debs Debian packages that provide it
 * @property {() => boolean} present whether it is already on this machine
 * @property {(command: string, env: NodeJS.ProcessEnv) => boolean} needed whether this command needs it
 */

/** @type {Component[]} */
export const components = [
  {
    name: 'PostgreSQL server (Aster runs its own cluster in the data folder)',
    debs: ['postgresql-15'],
    present: anyPostgres,
    // With DATABASE_URL the user runs Postgres; tests always use a throwaway cluster of their own.
    needed: (command, env) => command === 'test' || !env.DATABASE_URL || env.ASTER_PG_BIN !== undefined,
  },
  {
    name: 'Chromium (browser tests)',
    debs: ['chromium'],
    present: () => existsSync('/usr/bin/chromium'),
    needed: (command) => command === 'test',
  },
];
