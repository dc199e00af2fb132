import type { Command, Io } from './command.ts';
import { loginCommand, logoutCommand, whoamiCommand } from './commands/auth.ts';
import { flavorList } from './commands/catalog.ts';
import { serverConsoleUrl, serverLog } from './commands/console.ts';
import { imageDelete, imageList, imageUpload } from './commands/image.ts';
import { keypairDelete, keypairImport, keypairList } from './commands/keypair.ts';
import { floatingIpAssociate, floatingIpCreate, floatingIpDelete, floatingIpDisassociate, floatingIpList } from './commands/floatingIp.ts';
import { networkCreate, networkDelete, networkExplain, networkList, networkShow } from './commands/network.ts';
import { portCreate, portDelete, portList, portShow, portUpdate } from './commands/port.ts';
import {
  routerAddInterface,
  routerClearGateway,
  routerCreate,
  routerDelete,
  routerList,
  routerRemoveInterface,
  routerSetGateway,
  routerShow,
} from './commands/router.ts';
import {
  securityGroupCreate,
  securityGroupDelete,
  securityGroupList,
  securityGroupRuleAdd,
  securityGroupRuleDelete,
  securityGroupShow,
} from './commands/securityGroup.ts';
import { subnetCreate, subnetDelete, subnetList, subnetShow } from './commands/subnet.ts';
import { serverCreate, serverDelete, serverList, serverReboot, serverShow, serverStart, serverStop } from './commands/server.ts';
import { describeError, UsageError } from './errors.ts';

/** Every command, in the order `aster --help` lists them. */
export const commands: readonly Command[] = [
  loginCommand,
  logoutCommand,
  whoamiCommand,
  serverList,
  serverShow,
  serverCreate,
  serverDelete,
  serverStart,
  serverStop,
  serverReboot,
  serverConsoleUrl,
  serverLog,
  imageList,
  imageUpload,
  imageDelete,
  flavorList,
  networkList,
  networkShow,
  networkCreate,
  networkDelete,
  networkExplain,
  subnetList,
  subnetShow,
  subnetCreate,
  subnetDelete,
  portList,
  portShow,
  portCreate,
  portUpdate,
  portDelete,
  routerList,
  routerShow,
  routerCreate,
  routerDelete,
  routerAddInterface,
  routerRemoveInterface,
  routerSetGateway,
  routerClearGateway,
  floatingIpList,
  floatingIpCreate,
  floatingIpAssociate,
  floatingIpDisassociate,
  floatingIpDelete,
  securityGroupList,
  securityGroupShow,
  securityGroupCreate,
  securityGroupDelete,
  securityGroupRuleAdd,
  securityGroupRuleDelete,
  keypairImport,
  keypairList,
  keypairDelete,
];

export const USAGE = 'Usage: aster <command> [options]  (aster --help lists the commands)';

export function helpText(): string {
  const width = Math.max(...commands.map((c) => c.name.length));
  return [
    'Usage: aster <command> [options]',
    '',
    'Aster from a shell: servers, images, flavors, networks (subnets, ports, routers, floating IPs, security groups) and key pairs.',
    '',
    'Commands:',
    ...commands.map((c) => `  ${c.name.padEnd(width)}  ${c.summary}`),
    '',
    'Global options: --url URL, --token TOKEN (else ASTER_URL and ASTER_TOKEN, else what aster login saved),',
    '--json (the API\'s answer as JSON), -h/--help. Run aster <command> --help for the options of a command.',
    '',
    'Exit status: 0 done, 1 the API (or the machine) refused or failed, saying why on stderr, 2 bad usage.',
  ].join('\n');
}

const groups = [...new Set(commands.filter((c) => c.name.includes(' ')).map((c) => c.name.split(' ')[0]!))];
const topWords = () => [...new Set(commands.map((c) => c.name.split(' ')[0]!)), 'help'];

/** The command `argv` names and the arguments left for it; a UsageError names what is unknown and what exists. */
function find(argv: readonly string[]): { command: Command; rest: string[] } | { help: string } {
  const [first, second] = argv;
  if (first === undefined) throw new UsageError('aster: no command given', USAGE);
  if (first === '--help' || first === '-h') return { help: helpText() };
  if (first === 'help') {
    if (argv.length === 1) return { help: helpText() };
    const wanted = argv.slice(1).join(' ');
    const named = commands.find((c) => c.name === wanted);
    if (named) return { help: named.help() };
    if (groups.includes(wanted)) return { help: groupHelp(wanted) };
    throw new UsageError(`aster help: no command ${wanted}; commands: ${commands.map((c) => c.name).join(', ')}`, USAGE);
  }
  const single = commands.find((c) => c.name === first);
  if (single) return { command: single, rest: argv.slice(1) };
  if (groups.includes(first)) {
    const inGroup = commands.filter((c) => c.name.startsWith(`${first} `));
    const verbs = inGroup.map((c) => c.name.slice(first.length + 1));
    if (second === '--help' || second === '-h') return { help: groupHelp(first) };
    if (second === undefined) throw new UsageError(`aster ${first}: no command given; commands: ${verbs.join(', ')}`, `Usage: aster ${first} <${verbs.join('|')}> [options]`);
    const command = inGroup.find((c) => c.name === `${first} ${second}`);
    if (command) return { command, rest: argv.slice(2) };
    throw new UsageError(`aster ${first}: unknown command ${JSON.stringify(second)}; commands: ${verbs.join(', ')}`, `Usage: aster ${first} <${verbs.join('|')}> [options]`);
  }
  throw new UsageError(`aster: unknown command ${JSON.stringify(first)}; commands: ${topWords().join(', ')}`, USAGE);
}

function groupHelp(group: string): string {
  const inGroup = commands.filter((c) => c.name.startsWith(`${group} `));
  return ['Commands:', ...inGroup.map((c) => `  ${c.usageLine}\n      ${c.summary}`), '', `Run aster ${group} <command> --help for its options.`].join('\n');
}

/** Runs one command line; answers the exit status. */
export async function run(argv: readonly string[], io: Io): Promise<number> {
  try {
    const found = find(argv);
    if ('help' in found) {
      io.stdout.write(found.help + '\n');
      return 0;
    }
    await found.command.invoke(io, found.rest);
    return 0;
  } catch (error) {
    if (error instanceof UsageError) {
      io.stderr.write(`${error.message}\n${error.usage.startsWith('Usage:') ? error.usage : `Usage: ${error.usage}`}\n`);
      return 2;
    }
    io.stderr.write(`aster: ${describeError(error, io.state.url)}\n`);
    return 1;
  }
}
