import type { AsterClient } from '@aster/client';
import { defineCommand, oneOf, type Ctx } from '../command.ts';
import { dash, fields, table } from '../output.ts';
import { securityGroupId } from '../resolve.ts';

type Group = Awaited<ReturnType<AsterClient['securityGroups']['get']['query']>>;
type Rule = Group['rules'][number];

/** `22`, `22-23`; undefined when it is not a port or a range of ports (0–65535, low to high). */
export function parsePortRange(text: string): { min: number; max: number } | undefined {
  const m = /^(\d{1,5})(?:-(\d{1,5}))?$/.exec(text.trim());
  if (!m) return undefined;
  const min = Number(m[1]);
  const max = m[2] === undefined ? min : Number(m[2]);
  return max <= 65535 && min <= max ? { min, max } : undefined;
}

const ports = (r: Rule) => (r.portRangeMin === null ? 'any' : r.portRangeMin === r.portRangeMax ? String(r.portRangeMin) : `${r.portRangeMin}-${r.portRangeMax}`);

function ruleRows(rules: readonly Rule[], names: Map<string, string>): string[][] {
  return rules.map((r) => [
    r.id,
    r.direction,
    r.ethertype,
    r.protocol ?? 'any',
    r.protocol === 'icmp' ? (r.portRangeMin === null ? 'any' : `type ${r.portRangeMin}${r.portRangeMax === null ? '' : ` code ${r.portRangeMax}`}`) : ports(r),
    r.remoteGroupId ? `group ${names.get(r.remoteGroupId) ?? r.remoteGroupId}` : r.remoteIpPrefix ?? 'any',
  ]);
}
const RULE_HEADERS = ['RULE ID', 'DIRECTION', 'ETHERTYPE', 'PROTOCOL', 'PORTS', 'REMOTE'];

async function printGroup(ctx: Ctx, client: AsterClient, group: Group) {
  if (ctx.json) return ctx.printJson(group);
  const names = new Map((await client.securityGroups.list.query()).map((g) => [g.id, g.name]));
  ctx.print(
    fields([
      ['id', group.id],
      ['name', group.name],
      ['description', dash(group.description)],
      ['project', group.projectId],
      ['stateful', group.stateful ? 'yes' : 'no'],
      ['created', group.createdAt],
    ]),
  );
  ctx.print('');
  ctx.print(table(RULE_HEADERS, ruleRows(group.rules, names)));
}

export const securityGroupList = defineCommand({
  name: 'security-group list',
  usage: '[--all-projects]',
  summary: "Lists the project's security groups (default is made on first use).",
  help: `Options:
  --all-projects   every project's groups (cloud administrators)`,
  options: { 'all-projects': { type: 'boolean' } },
  async run(ctx, values) {
    const { client } = await ctx.client();
    const groups = await client.securityGroups.list.query(values['all-projects'] ? { allProjects: true } : undefined);
    if (ctx.json) return ctx.printJson(groups);
    ctx.print(table(['ID', 'NAME', 'RULES', 'DESCRIPTION'], groups.map((g) => [g.id, g.name, String(g.rules.length), dash(g.description)])));
  },
});

export const securityGroupShow = defineCommand({
  name: 'security-group show',
  usage: '<group>',
  summary: 'Shows one security group (by name or id) and its rules.',
  args: { min: 1, max: 1 },
  async run(ctx, _values, [ref]) {
    const { client } = await ctx.client();
    await printGroup(ctx, client, await client.securityGroups.get.query({ id: await securityGroupId(client, ref!) }));
  },
});

export const securityGroupCreate = defineCommand({
  name: 'security-group create',
  usage: '<name> [--description TEXT]',
  summary: 'Creates a security group; it lets everything out and nothing in until rules are added.',
  help: `Options:
  --description TEXT   what it is for`,
  options: { description: { type: 'string' } },
  args: { min: 1, max: 1 },
  async run(ctx, values, [name]) {
    const { client } = await ctx.client();
    await printGroup(ctx, client, await client.securityGroups.create.mutate({ name: name!, ...(values.description !== undefined ? { description: values.description } : {}) }));
  },
});

export const securityGroupDelete = defineCommand({
  name: 'security-group delete',
  usage: '<group>...',
  summary: 'Deletes security groups (refused for default and for groups ports still use).',
  args: { min: 1, max: 100 },
  async run(ctx, _values, refs) {
    const { client } = await ctx.client();
    const deleted: { id: string }[] = [];
    for (const ref of refs) {
      const id = await securityGroupId(client, ref);
      deleted.push(await client.securityGroups.delete.mutate({ id }));
      if (!ctx.json) ctx.print(`Deleted security group ${ref}${ref === id ? '' : ` (${id})`}`);
    }
    if (ctx.json) ctx.printJson(deleted);
  },
});

export const securityGroupRuleAdd = defineCommand({
  name: 'security-group rule-add',
  usage: '<group> [--direction ingress|egress] [--protocol tcp|udp|icmp|any|N] [--port N[-M]] [--remote-ip CIDR | --remote-group GROUP]',
  summary: 'Adds a rule to a security group: traffic it lets in (or out), and the replies.',
  help: `Options:
  --direction DIR        ingress (the default) or egress
  --protocol PROTO       tcp, udp, icmp, any (the default) or an IP protocol number
  --port N[-M]           a destination port or range, for tcp and udp (default: all)
  --remote-ip CIDR       only from (to) these addresses, e.g. 0.0.0.0/0
  --remote-group GROUP   only from (to) ports in this group (by name or id)
  --ethertype TYPE       IPv4 (the default) or IPv6
  --description TEXT     what it is for`,
  options: {
    direction: { type: 'string' },
    protocol: { type: 'string' },
    port: { type: 'string' },
    'remote-ip': { type: 'string' },
    'remote-group': { type: 'string' },
    ethertype: { type: 'string' },
    description: { type: 'string' },
  },
  args: { min: 1, max: 1 },
  async run(ctx, values, [ref]) {
    const direction = oneOf(ctx, values.direction ?? 'ingress', '--direction', ['ingress', 'egress'] as const)!;
    const ethertype = oneOf(ctx, values.ethertype, '--ethertype', ['IPv4', 'IPv6'] as const);
    const protocol = values.protocol?.toLowerCase();
    if (protocol !== undefined && !/^(tcp|udp|icmp|any|\d{1,3})$/.test(protocol)) throw ctx.usage(`--protocol must be tcp, udp, icmp, any or a protocol number (got ${values.protocol})`);
    const range = values.port === undefined ? undefined : parsePortRange(values.port);
    if (values.port !== undefined) {
      if (!range) throw ctx.usage(`--port takes a port or a range like 22 or 8000-8080, within 0-65535 (got ${values.port})`);
      if (protocol !== 'tcp' && protocol !== 'udp') throw ctx.usage('--port goes with --protocol tcp or udp');
    }
    if (values['remote-ip'] !== undefined && values['remote-group'] !== undefined) throw ctx.usage('--remote-ip and --remote-group: give one or the other');
    const { client } = await ctx.client();
    const [group, remoteGroup] = await Promise.all([
      securityGroupId(client, ref!),
      values['remote-group'] !== undefined ? securityGroupId(client, values['remote-group']) : undefined,
    ]);
    const rule = await client.securityGroups.addRule.mutate({
      securityGroupId: group,
      direction,
      ...(ethertype ? { ethertype } : {}),
      ...(protocol !== undefined ? { protocol } : {}),
      ...(range ? { portRangeMin: range.min, portRangeMax: range.max } : {}),
      ...(values['remote-ip'] !== undefined ? { remoteIpPrefix: values['remote-ip'] } : {}),
      ...(remoteGroup ? { remoteGroupId: remoteGroup } : {}),
      ...(values.description !== undefined ? { description: values.description } : {}),
    });
    if (ctx.json) return ctx.printJson(rule);
    const names = new Map((await client.securityGroups.list.query()).map((g) => [g.id, g.name]));
    ctx.print(table(RULE_HEADERS, ruleRows([rule], names)));
  },
});

export const securityGroupRuleDelete = defineCommand({
  name: 'security-group rule-delete',
  usage: '<rule id>...',
  summary: 'Deletes security group rules by their ids (security-group show lists them).',
  args: { min: 1, max: 100 },
  async run(ctx, _values, ids) {
    const { client } = await ctx.client();
    const deleted: { id: string }[] = [];
    for (const id of ids) {
      deleted.push(await client.securityGroups.removeRule.mutate({ id }));
      if (!ctx.json) ctx.print(`Deleted rule ${id}`);
    }
    if (ctx.json) ctx.printJson(deleted);
  },
});
