import { createAsterClient, errorCode, login, type LoginOptions, type LoginResult } from '@aster/client';
import { defineCommand, normalUrl, type Ctx } from '../command.ts';
import { readConfig, writeConfig } from '../config.ts';
import { CliError } from '../errors.ts';
import { fields } from '../output.ts';
import { Prompter } from '../prompt.ts';

function describeLogin(url: string, result: Pick<LoginResult, 'user' | 'project' | 'roles' | 'expiresAt'>) {
  return { url, user: result.user.name, project: result.project.name, roles: result.roles, expiresAt: result.expiresAt };
}

async function loginOptions(ctx: Ctx, values: Record<string, string | boolean | undefined>, prompter: Prompter): Promise<LoginOptions> {
  const text = (key: string) => (typeof values[key] === 'string' ? (values[key] as string) : undefined);
  const saved = await readConfig(ctx.io.settings.configFile);
  const given = text('url') ?? ctx.io.settings.url ?? saved?.url;
  const url = normalUrl(given ?? (await prompter.ask('API URL (e.g. http://127.0.0.1:8774): ', 'The API URL (--url)')));
  if (!/^https?:\/\/[^/]/.test(url)) throw ctx.usage(`--url must be an http:// or https:// URL (got ${url || 'nothing'})`);
  ctx.io.state.url = url;
  const credentialId = text('credential-id');
  if (credentialId !== undefined) {
    if (text('username') !== undefined || text('project') !== undefined) {
      throw ctx.usage('--credential-id signs in as the credential: it takes no --username or --project');
    }
    const secret = text('secret') ?? (await prompter.secret('Secret: ', 'The secret (--secret)'));
    return { url, credentialId, secret };
  }
  if (text('secret') !== undefined) throw ctx.usage('--secret goes with --credential-id');
  const username = text('username') ?? (await prompter.ask('Username: ', 'The username (--username)'));
  const password = text('password') ?? (await prompter.secret('Password: ', 'The password (--password)'));
  const project = text('project');
  return { url, username, password, ...(project !== undefined ? { project } : {}) };
}

export const loginCommand = defineCommand({
  name: 'login',
  usage: '[--url URL] [--username NAME] [--password PASSWORD] [--project PROJECT] | [--credential-id ID] [--secret SECRET]',
  summary: `Signs in and saves the API's URL and a token in ~/.config/aster/config.json (mode 600).`,
  help: `Options (what is not given is asked for; from stdin, one a line, when it is not a terminal):
  --username NAME         the user to sign in as
  --password PASSWORD     their password (better typed at the prompt, or piped in)
  --project PROJECT       the project to work in (name or id; else the user's first)
  --credential-id ID      sign in with an application credential instead
  --secret SECRET         the application credential's secret`,
  options: {
    username: { type: 'string' },
    password: { type: 'string' },
    project: { type: 'string' },
    'credential-id': { type: 'string' },
    secret: { type: 'string' },
  },
  async run(ctx, values) {
    const prompter = new Prompter((what) => ctx.usage(`${what} is missing: give it as an option, or on its own line of stdin`));
    let options: LoginOptions;
    try {
      options = await loginOptions(ctx, values, prompter);
    } finally {
      prompter.close();
    }
    // A refused sign-in says why as it is; the "sign in again" hint of other commands would not help here.
    const result = await login(options).catch((error: unknown) => {
      throw errorCode(error) === 'UNAUTHORIZED' ? new CliError((error as Error).message) : error;
    });
    await writeConfig(ctx.io.settings.configFile, {
      url: options.url,
      token: result.token,
      expiresAt: result.expiresAt,
      user: result.user.name,
      project: result.project.name,
    });
    const shown = describeLogin(options.url, result);
    if (ctx.json) return ctx.printJson(shown);
    ctx.print(`Signed in to ${options.url} as ${shown.user} (project ${shown.project}, roles ${shown.roles.join(', ') || 'none'}); the token expires at ${shown.expiresAt}.`);
    ctx.note(`Saved in ${ctx.io.settings.configFile}`);
  },
});

export const logoutCommand = defineCommand({
  name: 'logout',
  usage: '',
  summary: 'Revokes the token in use and forgets the saved one.',
  async run(ctx) {
    const { url, token, config } = await ctx.connection();
    if (!token) {
      if (ctx.json) return ctx.printJson({ url, revoked: false });
      return ctx.print(`Not signed in to ${url}.`);
    }
    let revoked = true;
    try {
      await createAsterClient({ url, token }).auth.logout.mutate();
    } catch (error) {
      // A token the API no longer accepts is as good as revoked: forget it all the same.
      if (errorCode(error) !== 'UNAUTHORIZED') throw error;
      revoked = false;
    }
    if (config?.token === token) {
      const { token: _token, expiresAt: _expiresAt, ...rest } = config;
      await writeConfig(ctx.io.settings.configFile, rest);
    }
    if (ctx.json) return ctx.printJson({ url, revoked });
    ctx.print(revoked ? `Signed out of ${url}.` : `Signed out of ${url} (the token had already expired or been revoked).`);
  },
});

export const whoamiCommand = defineCommand({
  name: 'whoami',
  usage: '',
  summary: 'Shows who the token signs in as: user, project, roles and when it expires.',
  async run(ctx) {
    const { client, url } = await ctx.client();
    const me = await client.auth.whoami.query();
    if (ctx.json) return ctx.printJson({ url, ...me });
    ctx.print(
      fields([
        ['url', url],
        ['user', `${me.user.name} (${me.user.id})`],
        ['project', `${me.project.name} (${me.project.id})`],
        ['roles', me.roles.join(', ') || '-'],
        ['admin', me.isAdmin ? 'yes' : 'no'],
        ...(me.credential ? [['credential', me.credential.name] as const] : []),
        ['expires', me.expiresAt],
        ['projects', me.projects.map((p) => `${p.name} (${p.roles.join(', ')})`).join('\n') || '-'],
      ]),
    );
  },
});
