import { defineCommand } from '../command.ts';
import { table } from '../output.ts';

export const flavorList = defineCommand({
  name: 'flavor list',
  usage: '',
  summary: 'Lists the flavors (server sizes) the project can use, smallest first.',
  async run(ctx) {
    const { client } = await ctx.client();
    const flavors = await client.flavors.list.query({});
    if (ctx.json) return ctx.printJson(flavors);
    ctx.print(
      table(
        ['ID', 'NAME', 'VCPUS', 'RAM', 'DISK', 'PUBLIC'],
        flavors.map((f) => [f.id, f.name, String(f.vcpus), `${f.ramMb} MB`, `${f.diskGb} GB`, f.isPublic ? 'yes' : 'no']),
      ),
    );
  },
});
