import { errorCode } from '@aster/client';
import { defineCommand, oneOf, wholeNumber } from '../command.ts';
import { lastLines, newOutput } from '../follow.ts';
import { serverId } from '../resolve.ts';

const consoleTypes = ['novnc', 'spice-html5', 'serial'] as const;

export const serverConsoleUrl = defineCommand({
  name: 'server console-url',
  usage: '<name-or-id> [--type novnc|spice-html5|serial]',
  summary: "Prints the URL of the server's console page, good until the token expires or the guest stops.",
  help: `Options:
  --type TYPE   the console: novnc (the screen, default), spice-html5, or serial
With --json: also the WebSocket URL and token for other clients, and when it expires.`,
  options: { type: { type: 'string' } },
  args: { min: 1, max: 1 },
  async run(ctx, values, [ref]) {
    const type = oneOf(ctx, values.type, '--type', consoleTypes) ?? 'novnc';
    const { client } = await ctx.client();
    const access = await client.servers.getConsole.mutate({ id: await serverId(client, ref!), type });
    if (ctx.json) return ctx.printJson(access);
    ctx.print(access.url);
  },
});

const WINDOW = 10000;
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

export const serverLog = defineCommand({
  name: 'server log',
  usage: '<name-or-id> [--lines N] [--follow]',
  summary: "Prints the server's serial console output.",
  help: `Options:
  --lines N            only the last N lines
  --follow             keep printing what the guest writes (read every --interval seconds) until interrupted
  --interval SECONDS   how often --follow reads the log (default 2)`,
  options: { lines: { type: 'string' }, follow: { type: 'boolean' }, interval: { type: 'string' } },
  args: { min: 1, max: 1 },
  async run(ctx, values, [ref]) {
    const lines = wholeNumber(ctx, values.lines, '--lines', 1, 10000);
    const interval = wholeNumber(ctx, values.interval, '--interval', 1, 3600) ?? 2;
    if (values.follow && ctx.json) throw ctx.usage('--follow prints text as it comes: it does not go with --json');
    if (values.interval !== undefined && !values.follow) throw ctx.usage('--interval goes with --follow');
    const { client } = await ctx.client();
    const id = await serverId(client, ref!);
    if (!values.follow) {
      const log = await client.servers.consoleLog.query({ id, ...(lines !== undefined ? { lines } : {}) });
      if (ctx.json) return ctx.printJson(log);
      return void ctx.io.stdout.write(log.output && !log.output.endsWith('\n') ? log.output + '\n' : log.output);
    }
    // The API offers the log as a read, not a stream: follow it by reading the same window (the last
    // WINDOW lines) again and printing what is new.
    let seen = (await client.servers.consoleLog.query({ id, lines: WINDOW })).output;
    ctx.io.stdout.write(lines !== undefined ? lastLines(seen, lines) : seen);
    let problem = '';
    for (;;) {
      await sleep(interval * 1000);
      let next: string;
      try {
        next = (await client.servers.consoleLog.query({ id, lines: WINDOW })).output;
      } catch (error) {
        // A guest that is stopped or busy has no log to read for now: say so once, and keep following.
        if (errorCode(error) !== 'CONFLICT') throw error;
        const message = error instanceof Error ? error.message : String(error);
        if (message !== problem) ctx.note(message);
        problem = message;
        continue;
      }
      problem = '';
      ctx.io.stdout.write(newOutput(seen, next));
      seen = next;
    }
  },
});
