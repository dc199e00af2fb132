import { homedir } from 'node:os';
import { join } from 'node:path';

/** The settings the command reads from its environment: the only place it looks at process.env. */
export interface Settings {
  /** ASTER_URL: the API's base URL, when not given by --url. */
  url: string | undefined;
  /** ASTER_TOKEN: a bearer token, when not given by --token. */
  token: string | undefined;
  /** Where `aster login` keeps the URL and token: $XDG_CONFIG_HOME/aster/config.json, else ~/.config/aster/config.json. */
  configFile: string;
}

const nonEmpty = (value: string | undefined) => (value === undefined || value.trim() === '' ? undefined : value.trim());

export function readSettings(env: NodeJS.ProcessEnv = process.env): Settings {
  const configHome = nonEmpty(env.XDG_CONFIG_HOME) ?? join(nonEmpty(env.HOME) ?? homedir(), '.config');
  return {
    url: nonEmpty(env.ASTER_URL),
    token: nonEmpty(env.ASTER_TOKEN),
    configFile: join(configHome, 'aster', 'config.json'),
  };
}
