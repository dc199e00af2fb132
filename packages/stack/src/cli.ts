import { EnvError } from '@aster/env';
import { agentCommand } from './agent.ts';
import { inheritedEnv } from './env.ts';
import { root } from './paths.ts';
import { build } from './stack.ts';
import { PostgresError } from './postgres.ts';
import { AlreadyRunningError } from './runfile.ts';
import { start } from './start.ts';
import { migrateCommand } from './migrate.ts';
import { testCommand } from './test.ts';

const commands: Record<string, (args: string[]) => Promise<number>> = {
  start: () => start(),
  test: (args) => testCommand(args),
  migrate: () => migrateCommand(),
  agent: () => agentCommand(),
  // The benchmark drives the API through the built client, so it builds first and loads after.
  'bench:api': async () => {
    process.stderr.write('building …\n');
    await build(root, inheritedEnv());
    return (await import('./bench/api.ts')).benchApi();
  },
  'bench:boot': async () => {
    process.stderr.write('building …\n');
    await build(root, inheritedEnv());
    return (await import('./bench/boot.ts')).benchBoot();
  },
  'bench:scheduler': async (args) => {
    process.stderr.write('building …\n');
    await build(root, inheritedEnv());
    return (await import('./bench/scheduler.ts')).benchScheduler(args);
  },
  'bench:network': async (args) => {
    process.stderr.write('building …\n');
    await build(root, inheritedEnv());
    return (await import('./bench/network.ts')).benchNetwork(args);
  },
  'bench:proxy': async () => (await import('./bench/proxy.ts')).benchProxy(),
  // The web console must be built: the benchmark runs `next start`.
  'bench:ui': async () => {
    process.stderr.write('building …\n');
    await build(root, inheritedEnv());
    return (await import('./bench/ui.ts')).benchUi();
  },
};

const [name = '', ...args] = process.argv.slice(2);
const command = commands[name];
if (!command) {
  process.stderr.write(`Unknown command ${JSON.stringify(name)}; use one of ${Object.keys(commands).join(', ')}\n`);
  process.exit(2);
}
try {
  process.exitCode = await command(args);
} catch (error) {
  if (error instanceof PostgresError || error instanceof EnvError || error instanceof AlreadyRunningError) {
    process.stderr.write(`${error.message}\n`);
  } else {
    process.stderr.write(`${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`);
  }
  process.exitCode = 1;
}
