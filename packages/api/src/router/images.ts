import { z } from 'zod';
import { AsterError } from '../errors.ts';
import { findProject } from '../identity/lookup.ts';
import { findOwnedImage, findVisibleImage, imageNotFound, visibleTo } from '../images/access.ts';
import { createInput, image, listInput, member, toImage, updateInput, type ImageRow } from '../images/schema.ts';
import { FileImageStore } from '../images/store.ts';
import { id, projectRef } from '../schemas.ts';
import { authedProcedure, router, type AuthedContext } from '../trpc.ts';

const onlyAdminsPublish = () =>
  new AsterError('Forbidden', 'visibility: only cloud administrators may make an image public; use shared and add member projects instead');

async function findMemberProject(ctx: AuthedContext, row: ImageRow, ref: string) {
  const project = await findProject(ctx.db, ref);
  if (project.id === row.project_id) throw new AsterError('InvalidInput', `project: ${project.name} owns image ${row.name}; members are other projects`);
  return project;
}

/**
 * Images (Glance's): metadata here, bytes through PUT/GET /v1/images/:id/file. A project sees its own
 * images, public ones, and shared ones it is a member of; only the owner (or a cloud administrator)
 * changes an image. Another project's private image answers NotFound, like a missing one.
 */
export const imagesRouter = router({
  list: authedProcedure
    .input(listInput)
    .output(z.array(image))
    .query(async ({ ctx, input }) => {
      if (input.allProjects && !ctx.auth.isAdmin) {
        throw new AsterError('Forbidden', 'allProjects: only cloud administrators may list the images of every project');
      }
      const where: string[] = [];
      const params: unknown[] = [];
      const param = (value: unknown) => `$${params.push(value)}`;
      if (!input.allProjects) where.push(visibleTo(param(ctx.auth.project.id)));
      if (input.name !== undefined) where.push(`i.name = ${param(input.name)}`);
      if (input.status !== undefined) where.push(`i.status = ${param(input.status)}`);
      if (input.visibility !== undefined) where.push(`i.visibility = ${param(input.visibility)}`);
      const { rows } = await ctx.db.query<ImageRow>(
        `SELECT i.* FROM images i ${where.length ? `WHERE ${where.join(' AND ')}` : ''} ORDER BY i.created_at DESC, i.id`,
        params,
      );
      return rows.map(toImage);
    }),

  get: authedProcedure
    .input(z.object({ id }))
    .output(image)
    .query(async ({ ctx, input }) => toImage(await findVisibleImage(ctx.db, ctx.auth, input.id))),

  /** A new image, queued for its data, owned by the caller's project. */
  create: authedProcedure
    .input(createInput)
    .output(image)
    .mutation(async ({ ctx, input }) => {
      if (input.visibility === 'public' && !ctx.auth.isAdmin) throw onlyAdminsPublish();
      const now = ctx.now();
      const { rows } = await ctx.db.query<ImageRow>(
        `INSERT INTO images (name, project_id, visibility, status, disk_format, min_ram_mb, min_disk_gb, properties, protected, created_at, updated_at)
         VALUES ($1, $2, $3, 'queued', $4, $5, $6, $7, $8, $9, $9) RETURNING *`,
        [input.name, ctx.auth.project.id, input.visibility, input.diskFormat, input.minRamMb, input.minDiskGb, JSON.stringify(input.properties), input.protected, now],
      );
      return toImage(rows[0]!);
    }),

  /** Changes what is given; `properties` replaces the whole set. The disk format and the data never change. */
  update: authedProcedure
    .input(updateInput)
    .output(image)
    .mutation(async ({ ctx, input }) => {
      const row = await findOwnedImage(ctx.db, ctx.auth, input.id, 'change');
      if (input.visibility === 'public' && row.visibility !== 'public' && !ctx.auth.isAdmin) throw onlyAdminsPublish();
      const sets: string[] = [];
      const params: unknown[] = [row.id];
      const set = (column: string, value: unknown) => sets.push(`${column} = $${params.push(value)}`);
      if (input.name !== undefined) set('name', input.name);
      if (input.visibility !== undefined) set('visibility', input.visibility);
      if (input.minRamMb !== undefined) set('min_ram_mb', input.minRamMb);
      if (input.minDiskGb !== undefined) set('min_disk_gb', input.minDiskGb);
      if (input.properties !== undefined) set('properties', JSON.stringify(input.properties));
      if (input.protected !== undefined) set('protected', input.protected);
      set('updated_at', ctx.now());
      const { rows } = await ctx.db.query<ImageRow>(`UPDATE images SET ${sets.join(', ')} WHERE id = $1 RETURNING *`, params);
      if (!rows[0]) throw imageNotFound(input.id);
      return toImage(rows[0]);
    }),

  /** Deletes the image and its data; a protected image is refused until protected is set to false. */
  delete: authedProcedure
    .input(z.object({ id }))
    .output(z.object({ id: z.string() }))
    .mutation(async ({ ctx, input }) => {
      const row = await findOwnedImage(ctx.db, ctx.auth, input.id, 'delete');
      const protectedError = () =>
        new AsterError('Conflict', `Image ${row.name} (${row.id}) is protected: set protected to false before deleting it`);
      if (row.protected) throw protectedError();
      const { rowCount } = await ctx.db.query('DELETE FROM images WHERE id = $1 AND NOT protected', [row.id]);
      if (!rowCount) throw protectedError();
      // The row goes first: leftover bytes are harmless, an active image without bytes is not.
      try {
        await new FileImageStore(ctx.config.imageDir).remove(row.id);
      } catch (error) {
        ctx.log.warn('image data left behind in the image store', { image: row.id, error });
      }
      return { id: row.id };
    }),

  /** The projects a shared image is shared with, by name; only its owner (or a cloud administrator) sees them. */
  listMembers: authedProcedure
    .input(z.object({ id }))
    .output(z.array(member))
    .query(async ({ ctx, input }) => {
      const row = await findOwnedImage(ctx.db, ctx.auth, input.id, 'share');
      const { rows } = await ctx.db.query<{ id: string; name: string }>(
        `SELECT p.id, p.name FROM image_members m JOIN projects p ON p.id = m.project_id WHERE m.image_id = $1 ORDER BY p.name`,
        [row.id],
      );
      return rows.map((project) => ({ imageId: row.id, project }));
    }),

  /** Shares a shared image with another project, named by id or name. */
  addMember: authedProcedure
    .input(z.object({ id, project: projectRef }))
    .output(member)
    .mutation(async ({ ctx, input }) => {
      const row = await findOwnedImage(ctx.db, ctx.auth, input.id, 'share');
      if (row.visibility !== 'shared') {
        throw new AsterError('InvalidState', `Image ${row.name} is ${row.visibility}: only images with visibility shared have members`);
      }
      const project = await findMemberProject(ctx, row, input.project);
      const { rowCount } = await ctx.db.query(
        `INSERT INTO image_members (image_id, project_id, created_at) VALUES ($1, $2, $3) ON CONFLICT DO NOTHING`,
        [row.id, project.id, ctx.now()],
      );
      if (!rowCount) throw new AsterError('Conflict', `Project ${project.name} is already a member of image ${row.name}`);
      return { imageId: row.id, project: { id: project.id, name: project.name } };
    }),

  removeMember: authedProcedure
    .input(z.object({ id, project: projectRef }))
    .output(member)
    .mutation(async ({ ctx, input }) => {
      const row = await findOwnedImage(ctx.db, ctx.auth, input.id, 'share');
      const project = await findMemberProject(ctx, row, input.project);
      const { rowCount } = await ctx.db.query('DELETE FROM image_members WHERE image_id = $1 AND project_id = $2', [row.id, project.id]);
      if (!rowCount) throw new AsterError('NotFound', `Project ${project.name} is not a member of image ${row.name}`);
      return { imageId: row.id, project: { id: project.id, name: project.name } };
    }),
});
