import { readFile } from 'node:fs/promises';
import { defineCommand, required } from '../command.ts';
import { CliError } from '../errors.ts';
import { fields, table } from '../output.ts';

export const keypairImport = defineCommand({
  name: 'keypair import',
  usage: '<name> --public-key-file FILE',
  summary: "Imports an SSH public key as a key pair; servers launched with --key-name NAME get it.",
  help: `Options:
  --public-key-file FILE   the public key, e.g. ~/.ssh/id_ed25519.pub (never the private one)`,
  options: { 'public-key-file': { type: 'string' } },
  args: { min: 1, max: 1 },
  async run(ctx, values, [name]) {
    const file = required(ctx, values['public-key-file'], '--public-key-file');
    const publicKey = await readFile(file, 'utf8').catch((error: Error) => {
      throw new CliError(`Cannot read ${file}: ${error.message}`);
    });
    if (/PRIVATE KEY/.test(publicKey)) throw new CliError(`${file} holds a private key: give the public one (the .pub file)`);
    const { client } = await ctx.client();
    const keypair = await client.keypairs.import.mutate({ name: name!, publicKey: publicKey.trim() });
    if (ctx.json) return ctx.printJson(keypair);
    ctx.print(
      fields([
        ['name', keypair.name],
        ['type', keypair.type],
        ['fingerprint', keypair.fingerprint],
        ['md5', keypair.fingerprintMd5],
        ['created', keypair.createdAt],
      ]),
    );
  },
});

export const keypairList = defineCommand({
  name: 'keypair list',
  usage: '',
  summary: 'Lists your key pairs.',
  async run(ctx) {
    const { client } = await ctx.client();
    const keypairs = await client.keypairs.list.query();
    if (ctx.json) return ctx.printJson(keypairs);
    ctx.print(table(['NAME', 'TYPE', 'FINGERPRINT'], keypairs.map((k) => [k.name, k.type, k.fingerprint])));
  },
});

export const keypairDelete = defineCommand({
  name: 'keypair delete',
  usage: '<name>...',
  summary: 'Deletes key pairs (servers launched with one keep its key).',
  args: { min: 1, max: 100 },
  async run(ctx, _values, names) {
    const { client } = await ctx.client();
    const deleted: { name: string }[] = [];
    for (const name of names) {
      deleted.push(await client.keypairs.delete.mutate({ name }));
      if (!ctx.json) ctx.print(`Deleted key pair ${name}`);
    }
    if (ctx.json) ctx.printJson(deleted);
  },
});
