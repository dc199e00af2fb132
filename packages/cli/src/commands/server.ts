import { readFile } from 'node:fs/promises';
import type { AsterClient } from '@aster/client';
import { defineCommand, required, wholeNumber, type Ctx } from '../command.ts';
import { CliError } from '../errors.ts';
import { flavorId, imageId, networkId, securityGroupId, serverGroupId, serverId } from '../resolve.ts';
import { serversText, serverTable, type Server } from '../views.ts';
import { failure, reach, stateOf, waitForServers, type Goal } from '../wait.ts';

type ListInput = Exclude<Parameters<AsterClient['servers']['list']['query']>[0], void | undefined>;
type Status = NonNullable<ListInput['status']>;
const waitHelp = `  --wait                  return once it is done (followed live, not polled); exit 1 if it fails
  --timeout SECONDS       how long --wait waits (default 600)`;
const waitOptions = { wait: { type: 'boolean' }, timeout: { type: 'string' } } as const;

/** How long --wait waits, in seconds; undefined without --wait. Checked before anything is asked of the API. */
function waitSeconds(ctx: Ctx, values: { wait?: boolean; timeout?: string }): number | undefined {
  if (!values.wait) {
    if (values.timeout !== undefined) throw ctx.usage('--timeout goes with --wait');
    return undefined;
  }
  return wholeNumber(ctx, values.timeout, '--timeout', 1, 86400) ?? 600;
}

/** Waits when asked, telling progress on stderr at a terminal; prints the servers; exit 1 for those that failed. */
async function finish(ctx: Ctx, client: AsterClient, servers: Server[], timeoutSeconds: number | undefined, goal: Goal, what: string, brief = false) {
  let final = servers;
  if (timeoutSeconds !== undefined) {
    const tell = ctx.io.stderr.isTTY && !ctx.json;
    final = await waitForServers(client, servers, goal, { timeoutSeconds, what, ...(tell ? { onChange: (s: Server) => ctx.note(`${s.name}: ${stateOf(s)}`) } : {}) });
  }
  if (ctx.json) ctx.printJson(final.length === 1 ? final[0] : final);
  else if (brief) ctx.print(final.map((s) => `${s.name} (${s.id}): ${stateOf(s)}`).join('\n'));
  else ctx.print(serversText(final));
  const failed = timeoutSeconds !== undefined ? final.filter((s) => goal(s) === 'failed') : [];
  if (failed.length) throw new CliError(failed.map(failure).join('\n'));
}

export const serverList = defineCommand({
  name: 'server list',
  usage: '[--name TEXT] [--status STATUS] [--all-projects]',
  summary: "Lists the project's servers, newest first.",
  help: `Options:
  --name TEXT       only servers whose name contains TEXT
  --status STATUS   only servers in STATUS (ACTIVE, BUILD, SHUTOFF, ERROR …)
  --all-projects    every project's servers (cloud administrators)`,
  options: { name: { type: 'string' }, status: { type: 'string' }, 'all-projects': { type: 'boolean' } },
  async run(ctx, values) {
    const { client } = await ctx.client();
    // The API checks the status, and lists the valid ones when it is not one.
    const status = values.status?.toUpperCase() as Status | undefined;
    const servers: Server[] = [];
    let marker: string | undefined;
    // Pages of 1000 until the API says there are no more.
    do {
      const page = await client.servers.list.query({
        limit: 1000,
        ...(values.name !== undefined ? { name: values.name } : {}),
        ...(status ? { status } : {}),
        ...(values['all-projects'] ? { allProjects: true } : {}),
        ...(marker ? { marker } : {}),
      });
      servers.push(...page.servers);
      marker = page.nextMarker ?? undefined;
    } while (marker);
    if (ctx.json) return ctx.printJson(servers);
    ctx.print(serverTable(servers));
  },
});

export const serverShow = defineCommand({
  name: 'server show',
  usage: '<name-or-id>',
  summary: 'Shows one server: status, addresses, flavor, image, fault.',
  args: { min: 1, max: 1 },
  async run(ctx, _values, [ref]) {
    const { client } = await ctx.client();
    const server = await client.servers.get.query({ id: await serverId(client, ref!) });
    if (ctx.json) return ctx.printJson(server);
    ctx.print(serversText([server]));
  },
});

export const serverCreate = defineCommand({
  name: 'server create',
  usage: '--name NAME --image IMAGE --flavor FLAVOR [--network NETWORK]... [--security-group GROUP]... [--key-name KEY] [--user-data-file FILE] [--count N] [--group GROUP] [--zone ZONE] [--wait]',
  summary: 'Launches servers; they start in BUILD and turn ACTIVE (or ERROR, saying why).',
  help: `Options (images, flavors and networks by name or id):
  --name NAME             the server's name
  --image IMAGE           the image to boot
  --flavor FLAVOR         its size
  --network NETWORK       a network to plug it into (repeat for several; default: the project's one
                          network, else public)
  --security-group GROUP  a security group of the project for its ports (repeat for several; default: default)
  --key-name KEY          a key pair whose public key the guest gets
  --user-data-file FILE   user data (cloud-init) for the guest
  --metadata KEY=VALUE    a metadata item (repeat for several)
  --count N               launch N servers alike (default 1)
  --group GROUP           a server group of the project to join (by name or id)
  --zone ZONE             the availability zone to launch in (default: any)
${waitHelp}`,
  options: {
    name: { type: 'string' },
    image: { type: 'string' },
    flavor: { type: 'string' },
    network: { type: 'string', multiple: true },
    'security-group': { type: 'string', multiple: true },
    'key-name': { type: 'string' },
    'user-data-file': { type: 'string' },
    metadata: { type: 'string', multiple: true },
    count: { type: 'string' },
    group: { type: 'string' },
    zone: { type: 'string' },
    ...waitOptions,
  },
  async run(ctx, values) {
    const name = required(ctx, values.name, '--name');
    const image = required(ctx, values.image, '--image');
    const flavor = required(ctx, values.flavor, '--flavor');
    const count = wholeNumber(ctx, values.count, '--count', 1, 100);
    const timeoutSeconds = waitSeconds(ctx, values);
    const metadata: Record<string, string> = {};
    for (const item of values.metadata ?? []) {
      const at = item.indexOf('=');
      if (at < 1) throw ctx.usage(`--metadata takes KEY=VALUE (got ${item})`);
      metadata[item.slice(0, at)] = item.slice(at + 1);
    }
    let userData: string | undefined;
    if (values['user-data-file'] !== undefined) {
      const file = values['user-data-file'];
      userData = await readFile(file, 'utf8').catch((error: Error) => {
        throw new CliError(`Cannot read the user data file ${file}: ${error.message}`);
      });
    }
    const { client } = await ctx.client();
    const [imageRef, flavorRef, networks, groupRef, securityGroups] = await Promise.all([
      imageId(client, image),
      flavorId(client, flavor),
      Promise.all((values.network ?? []).map((n) => networkId(client, n))),
      values.group !== undefined ? serverGroupId(client, values.group) : undefined,
      Promise.all((values['security-group'] ?? []).map((g) => securityGroupId(client, g))),
    ]);
    const servers = await client.servers.create.mutate({
      name,
      imageId: imageRef,
      flavorId: flavorRef,
      ...(networks.length ? { networks } : {}),
      ...(securityGroups.length ? { securityGroups } : {}),
      ...(values['key-name'] !== undefined ? { keyName: values['key-name'] } : {}),
      ...(userData !== undefined ? { userData } : {}),
      ...(Object.keys(metadata).length ? { metadata } : {}),
      ...(count !== undefined ? { count } : {}),
      ...(groupRef !== undefined ? { serverGroupId: groupRef } : {}),
      ...(values.zone !== undefined ? { availabilityZone: values.zone } : {}),
    });
    await finish(ctx, client, servers, timeoutSeconds, reach('ACTIVE'), `${name} to be ACTIVE`);
  },
});

type Action = 'start' | 'stop' | 'delete';
const actions: Record<Action, { summary: string; goal: Goal; becomes: string }> = {
  start: { summary: 'Powers servers on (from SHUTOFF).', goal: reach('ACTIVE'), becomes: 'ACTIVE' },
  stop: { summary: 'Powers servers off (to SHUTOFF).', goal: reach('SHUTOFF'), becomes: 'SHUTOFF' },
  delete: {
    summary: 'Deletes servers, their disks and their addresses.',
    goal: (s) => (s.status === 'DELETED' ? 'done' : s.status === 'ERROR' && s.taskState === null ? 'failed' : null),
    becomes: 'DELETED',
  },
};

/** Runs `call` on each named server in turn; a failure stops there, after saying which ones it was done to. */
async function eachServer(ctx: Ctx, refs: string[], call: (client: AsterClient, id: string) => Promise<Server>) {
  const { client } = await ctx.client();
  const done: Server[] = [];
  try {
    for (const ref of refs) done.push(await call(client, await serverId(client, ref)));
  } catch (error) {
    if (done.length) ctx.note(`Done before the failure: ${done.map((s) => `${s.name} (${stateOf(s)})`).join(', ')}`);
    throw error;
  }
  return { client, done };
}

const actionCommand = (action: Action) =>
  defineCommand({
    name: `server ${action}`,
    usage: '<name-or-id>... [--wait]',
    summary: actions[action].summary,
    help: `Options:\n${waitHelp.replace('it is done', `they are ${actions[action].becomes}`)}`,
    options: waitOptions,
    args: { min: 1, max: 100 },
    async run(ctx, values, refs) {
      const timeoutSeconds = waitSeconds(ctx, values);
      const { client, done } = await eachServer(ctx, refs, (c, id) => c.servers[action].mutate({ id }));
      await finish(ctx, client, done, timeoutSeconds, actions[action].goal, `${refs.join(', ')} to be ${actions[action].becomes}`, true);
    },
  });

export const serverStart = actionCommand('start');
export const serverStop = actionCommand('stop');
export const serverDelete = actionCommand('delete');

export const serverReboot = defineCommand({
  name: 'server reboot',
  usage: '<name-or-id>... [--hard] [--wait]',
  summary: 'Reboots servers: the guest is asked to restart, or with --hard it is reset.',
  help: `Options:
  --hard                  power-cycle instead of asking the guest
${waitHelp.replace('it is done', 'they are ACTIVE again')}`,
  options: { hard: { type: 'boolean' }, ...waitOptions },
  args: { min: 1, max: 100 },
  async run(ctx, values, refs) {
    const type = values.hard ? 'HARD' : 'SOFT';
    const timeoutSeconds = waitSeconds(ctx, values);
    const { client, done } = await eachServer(ctx, refs, (c, id) => c.servers.reboot.mutate({ id, type }));
    await finish(ctx, client, done, timeoutSeconds, reach('ACTIVE'), `${refs.join(', ')} to be ACTIVE`, true);
  },
});
