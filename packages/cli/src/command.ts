import { parseArgs, type ParseArgsConfig } from 'node:util';
import { createAsterClient, type AsterClient } from '@aster/client';
import { readConfig, type StoredConfig } from './config.ts';
import type { Settings } from './env.ts';
import { CliError, UsageError } from './errors.ts';
import { json } from './output.ts';

type Options = NonNullable<ParseArgsConfig['options']>;

/** Options every command takes. */
const globalOptions = {
  url: { type: 'string' },
  token: { type: 'string' },
  json: { type: 'boolean' },
  help: { type: 'boolean', short: 'h' },
} as const satisfies Options;

const globalHelp = `Global options:
  --url URL      the API (else ASTER_URL, else the URL aster login saved)
  --token TOKEN  a bearer token (else ASTER_TOKEN, else the token aster login saved)
  --json         print the API's answer as JSON instead of a table
  -h, --help     show this help`;

type Values<O extends Options> = ReturnType<typeof parseArgs<{ options: O & typeof globalOptions; allowPositionals: true; strict: true }>>['values'];

/** Where a command writes and what it knows about the machine; `state` keeps the URL in use for error messages. */
export interface Io {
  stdout: { write(text: string): unknown; isTTY?: boolean };
  stderr: { write(text: string): unknown; isTTY?: boolean };
  settings: Settings;
  state: { url?: string };
}

export interface Connection {
  url: string;
  token: string | undefined;
  config: StoredConfig | null;
}

/** What a running command works with. */
export interface Ctx {
  json: boolean;
  io: Io;
  /** A line (or lines) of the answer, on stdout. */
  print(text: string): void;
  /** The answer as JSON, on stdout. */
  printJson(value: unknown): void;
  /** Progress and remarks, on stderr, so that stdout stays the answer. */
  note(text: string): void;
  /** The API's URL and token, from the flags, the environment or the saved config, in that order. */
  connection(): Promise<Connection>;
  /** A client with a token; refuses with what to do when there is none. */
  client(): Promise<{ client: AsterClient; url: string; token: string }>;
  usage(message: string): UsageError;
}

export interface Command {
  name: string;
  summary: string;
  usageLine: string;
  help(): string;
  invoke(io: Io, argv: string[]): Promise<void>;
}

export interface CommandSpec<O extends Options> {
  /** The words after `aster`, e.g. `server create`. */
  name: string;
  /** What follows the name in the usage line. */
  usage: string;
  summary: string;
  /** The options and arguments, explained: one a line. */
  help?: string;
  options?: O;
  args?: { min?: number; max?: number };
  run(ctx: Ctx, values: Values<O>, args: string[]): Promise<void>;
}

export const normalUrl = (url: string) => url.replace(/\/+$/, '').replace(/\/trpc$/, '');

/** The saved token is sent only to the URL it was issued by. */
export function chooseConnection(flags: { url?: string; token?: string }, settings: Settings, config: StoredConfig | null) {
  const given = flags.url ?? settings.url;
  const url = given !== undefined ? normalUrl(given) : config ? normalUrl(config.url) : undefined;
  const saved = config && url !== undefined && normalUrl(config.url) === url ? config.token : undefined;
  return { url, token: flags.token ?? settings.token ?? saved };
}

/** Why parseArgs refused, without its advice about `--`. */
const parseProblem = (error: unknown) => (error instanceof Error ? error.message.replace(/\. To specify a positional argument.*$/s, '') : String(error));

export function defineCommand<const O extends Options = Record<never, never>>(spec: CommandSpec<O>): Command {
  const usageLine = `aster ${spec.name}${spec.usage ? ` ${spec.usage}` : ''}`;
  const help = () => [`Usage: ${usageLine}`, '', spec.summary, ...(spec.help ? ['', spec.help] : []), '', globalHelp].join('\n');
  return {
    name: spec.name,
    summary: spec.summary,
    usageLine,
    help,
    async invoke(io, argv) {
      let parsed;
      try {
        parsed = parseArgs({ args: argv, options: { ...spec.options, ...globalOptions } as O & typeof globalOptions, allowPositionals: true, strict: true });
      } catch (error) {
        throw new UsageError(`aster ${spec.name}: ${parseProblem(error)}`, usageLine);
      }
      const { values, positionals } = parsed;
      const global = values as { url?: string; token?: string; json?: boolean; help?: boolean };
      if (global.help) return void io.stdout.write(help() + '\n');
      const { min = 0, max = 0 } = spec.args ?? {};
      if (positionals.length < min) throw new UsageError(`aster ${spec.name}: missing argument`, usageLine);
      if (positionals.length > max) throw new UsageError(`aster ${spec.name}: unexpected argument ${positionals[max]}`, usageLine);
      const usage = (message: string) => new UsageError(`aster ${spec.name}: ${message}`, usageLine);
      let connection: Connection | undefined;
      const ctx: Ctx = {
        json: global.json === true,
        io,
        print: (text) => io.stdout.write(text + '\n'),
        printJson: (value) => io.stdout.write(json(value) + '\n'),
        note: (text) => io.stderr.write(text + '\n'),
        usage,
        async connection() {
          if (!connection) {
            const config = await readConfig(io.settings.configFile);
            const flags = { ...(global.url !== undefined ? { url: global.url } : {}), ...(global.token !== undefined ? { token: global.token } : {}) };
            const chosen = chooseConnection(flags, io.settings, config);
            if (chosen.url === undefined) throw new CliError('No API URL: give --url, set ASTER_URL, or sign in with aster login');
            connection = { url: chosen.url, token: chosen.token, config };
            io.state.url = chosen.url;
          }
          return connection;
        },
        async client() {
          const { url, token } = await ctx.connection();
          if (!token) throw new CliError(`Not signed in to ${url}: run aster login, or give --token or ASTER_TOKEN`);
          return { client: createAsterClient({ url, token }), url, token };
        },
      };
      await spec.run(ctx, values, positionals);
    },
  };
}

/** A whole number from an option, within bounds. */
export function wholeNumber(ctx: Ctx, value: string | undefined, flag: string, min: number, max: number): number | undefined {
  if (value === undefined) return undefined;
  const n = Number(value);
  if (!/^\d+$/.test(value.trim()) || n < min || n > max) throw ctx.usage(`${flag} must be a whole number from ${min} to ${max} (got ${value})`);
  return n;
}

/** An option that must be given. */
export function required<T>(ctx: Ctx, value: T | undefined, flag: string): T {
  if (value === undefined || value === '') throw ctx.usage(`${flag} is required`);
  return value;
}

/** One of a closed set of words. */
export function oneOf<const T extends string>(ctx: Ctx, value: string | undefined, flag: string, allowed: readonly T[]): T | undefined {
  if (value === undefined) return undefined;
  if (!(allowed as readonly string[]).includes(value)) throw ctx.usage(`${flag} must be one of ${allowed.join(', ')} (got ${value})`);
  return value as T;
}
