import { stat } from 'node:fs/promises';
import type { AsterClient } from '@aster/client';
import { defineCommand, oneOf, required } from '../command.ts';
import { CliError } from '../errors.ts';
import { bytes, dash, fields, table } from '../output.ts';
import { imageId } from '../resolve.ts';
import { progressLine, putImageFile, sniffDiskFormat, uploadError } from '../upload.ts';

type Image = Awaited<ReturnType<AsterClient['images']['get']['query']>>;

const imageTable = (images: readonly Image[]) =>
  table(
    ['ID', 'NAME', 'STATUS', 'VISIBILITY', 'FORMAT', 'SIZE', 'MIN RAM', 'MIN DISK'],
    images.map((i) => [i.id, i.name, i.status, i.visibility, i.diskFormat, bytes(i.sizeBytes), i.minRamMb ? `${i.minRamMb} MB` : '-', i.minDiskGb ? `${i.minDiskGb} GB` : '-']),
  );

const imageFields = (i: Image) =>
  fields([
    ['id', i.id],
    ['name', i.name],
    ['status', i.status],
    ['visibility', i.visibility],
    ['disk format', i.diskFormat],
    ['size', i.sizeBytes === null ? '-' : `${bytes(i.sizeBytes)} (${i.sizeBytes} bytes)`],
    ['virtual size', bytes(i.virtualSize)],
    ['sha256', dash(i.checksumSha256)],
    ['protected', i.protected ? 'yes' : 'no'],
    ['created', i.createdAt],
    ...(i.fault ? [['fault', i.fault] as const] : []),
  ]);

export const imageList = defineCommand({
  name: 'image list',
  usage: '[--name NAME] [--all-projects]',
  summary: "Lists the images the project can use: its own, shared ones and public ones, newest first.",
  help: `Options:
  --name NAME      only images named NAME
  --all-projects   every project's images (cloud administrators)`,
  options: { name: { type: 'string' }, 'all-projects': { type: 'boolean' } },
  async run(ctx, values) {
    const { client } = await ctx.client();
    const images = await client.images.list.query({
      ...(values.name !== undefined ? { name: values.name } : {}),
      ...(values['all-projects'] ? { allProjects: true } : {}),
    });
    if (ctx.json) return ctx.printJson(images);
    ctx.print(imageTable(images));
  },
});

const diskFormats = ['qcow2', 'raw', 'iso'] as const;
const visibilities = ['private', 'shared', 'public'] as const;

export const imageUpload = defineCommand({
  name: 'image upload',
  usage: '<file> --name NAME [--disk-format qcow2|raw|iso] [--visibility private|shared|public]',
  summary: 'Creates an image and streams the file into it; it is active once the API has checked it.',
  help: `Options:
  --name NAME          the image's name
  --disk-format FMT    qcow2, raw or iso (default: what the file's first bytes show)
  --visibility VIS     private (default), shared, or public (cloud administrators)
Progress goes to stderr when it is a terminal. If the upload fails, the new image is deleted.`,
  options: { name: { type: 'string' }, 'disk-format': { type: 'string' }, visibility: { type: 'string' } },
  args: { min: 1, max: 1 },
  async run(ctx, values, [path]) {
    const name = required(ctx, values.name, '--name');
    const chosen = oneOf(ctx, values['disk-format'], '--disk-format', diskFormats);
    const visibility = oneOf(ctx, values.visibility, '--visibility', visibilities);
    const file = await stat(path!).catch((error: Error) => {
      throw new CliError(`Cannot read ${path}: ${error.message}`);
    });
    if (!file.isFile()) throw new CliError(`${path} is not a file`);
    if (file.size === 0) throw new CliError(`${path} is empty: an image needs data`);
    const diskFormat = chosen ?? (await sniffDiskFormat(path!));
    const { client, url, token } = await ctx.client();
    const image = await client.images.create.mutate({ name, diskFormat, ...(visibility ? { visibility } : {}) });
    const tell = ctx.io.stderr.isTTY === true;
    let result;
    try {
      result = await putImageFile(url, token, image.id, path!, file.size, tell ? (sent) => ctx.io.stderr.write(progressLine(name, sent, file.size)) : undefined);
    } catch (error) {
      await client.images.delete.mutate({ id: image.id }).catch(() => undefined);
      throw error;
    } finally {
      if (tell) ctx.io.stderr.write('\n');
    }
    if (result.status !== 200) {
      const error = uploadError(result);
      // A refused upload leaves the image killed or queued, with no data: nothing worth keeping.
      await client.images.delete.mutate({ id: image.id }).then(
        () => (error.message += `\nImage ${name} (${image.id}) was deleted.`),
        () => (error.message += `\nImage ${name} (${image.id}) is left without data: delete it with aster image delete ${image.id}`),
      );
      throw error;
    }
    const uploaded = JSON.parse(result.body) as Image;
    if (uploaded.checksumSha256 !== result.sha256) {
      throw new CliError(`The API stored data with SHA-256 ${uploaded.checksumSha256}, but ${path} has ${result.sha256}: image ${uploaded.id} is not what was sent`);
    }
    if (ctx.json) return ctx.printJson(uploaded);
    ctx.print(imageFields(uploaded));
  },
});

export const imageDelete = defineCommand({
  name: 'image delete',
  usage: '<name-or-id>...',
  summary: 'Deletes images and their data (a protected image is refused).',
  args: { min: 1, max: 100 },
  async run(ctx, _values, refs) {
    const { client } = await ctx.client();
    const deleted: { id: string }[] = [];
    for (const ref of refs) {
      const id = await imageId(client, ref);
      await client.images.delete.mutate({ id });
      deleted.push({ id });
      if (!ctx.json) ctx.print(`Deleted image ${ref}${ref === id ? '' : ` (${id})`}`);
    }
    if (ctx.json) ctx.printJson(deleted);
  },
});
