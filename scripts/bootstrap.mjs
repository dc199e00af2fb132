#!/usr/bin/env node
// The zero-dependency entry of `npm start`, `npm test` and `npm run migrate`: it checks Node, installs the
// npm dependencies when they are missing or stale and the system packages when they are missing, then hands
// over to the launcher (packages/stack). It imports nothing outside Node itself.
import { spawn, spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { planSystemInstall } from './system-packages.mjs';

const root = dirname(dirname(fileURLToPath(import.meta.url)));
const [command = 'start', ...args] = process.argv.slice(2);
const env = process.env;
const say = (line) => process.stdout.write(`${line}\n`);
const fail = (message) => {
  process.stderr.write(`\n${message}\n`);
  process.exit(1);
};

// --- Node
const [major, minor] = process.versions.node.split('.').map(Number);
if (major < 20 || (major === 20 && minor < 19)) fail(`Aster needs Node.js 20.19 or newer; this is ${process.versions.node}.`);

// --- npm dependencies: reinstalled when package-lock.json or any package.json changed since the last install
function manifestHash() {
  const hash = createHash('sha256');
  const files = ['package.json', 'package-lock.json'];
  for (const group of ['apps', 'packages']) {
    const dir = join(root, group);
    if (!existsSync(dir)) continue;
    for (const name of readdirSync(dir).sort()) files.push(join(group, name, 'package.json'));
  }
  files.push('e2e/package.json');
  for (const file of files) {
    const path = join(root, file);
    hash.update(file + '\0' + (existsSync(path) ? readFileSync(path) : '') + '\0');
  }
  hash.update(process.version);
  return hash.digest('hex');
}
const stamp = join(root, 'node_modules', '.aster-install');
const wantedHash = manifestHash();
if (!existsSync(stamp) || readFileSync(stamp, 'utf8') !== wantedHash) {
  const hasLock = existsSync(join(root, 'package-lock.json'));
  say(`Installing npm dependencies (npm ${hasLock ? 'ci' : 'install'})…`);
  const npm = spawnSync('npm', [hasLock ? 'ci' : 'install', '--no-audit', '--no-fund'], { cwd: root, stdio: 'inherit', env });
  if (npm.status !== 0) fail('npm could not install the dependencies (see above).');
  writeFileSync(stamp, manifestHash());
}

// --- system packages
const plan = planSystemInstall({
  command,
  env,
  isRoot: process.getuid?.() === 0,
  debianLike: existsSync('/etc/debian_version') && spawnSync('sh', ['-c', 'command -v apt-get']).status === 0,
});
if (plan.action === 'stop') fail(plan.message);
if (plan.action === 'install') {
  say(plan.message);
  const aptEnv = { ...env, DEBIAN_FRONTEND: 'noninteractive' };
  const update = spawnSync('apt-get', ['update', '-q'], { stdio: 'inherit', env: aptEnv });
  if (update.status !== 0) fail('apt-get update failed (see above).');
  const install = spawnSync('apt-get', ['install', '-y', '-q', '--no-install-recommends', ...plan.debs], { stdio: 'inherit', env: aptEnv });
  if (install.status !== 0) fail(`apt-get could not install ${plan.debs.join(' ')} (see above).`);
  const after = planSystemInstall({ command, env, isRoot: true, debianLike: true });
  if (after.action !== 'none') fail(`After apt-get, still missing:\n${after.message}`);
}

// --- hand over to the launcher; signals go to it, and its exit code is ours
const child = spawn(process.execPath, ['--import', 'tsx', join(root, 'packages/stack/src/cli.ts'), command, ...args], {
  cwd: process.cwd(),
  stdio: 'inherit',
  env,
});
// The launcher treats a repeated signal as one, so forwarding a Ctrl-C it also got from the terminal is harmless.
for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP']) process.on(signal, () => child.kill(signal));
child.on('exit', (code, signal) => process.exit(code ?? (signal ? 1 : 0)));
// If whoever started us goes away without passing a signal on (a shell killed by npm), stop cleanly all the same.
const parent = process.ppid;
setInterval(() => {
  if (process.ppid !== parent) child.kill('SIGTERM');
}, 1000).unref();
