import { z } from 'zod';
import type { InstanceRow } from '../compute/instances.ts';
import { AsterError } from '../errors.ts';
import { id, isoDate, toIso } from '../schemas.ts';
import { imageName, properties } from '../images/schema.ts';
import { consoleLogOf, deleteServer, runHostAction, setLock, visibleServer } from '../servers/actions.ts';
import { consoleTypes, openConsole } from '../servers/console.ts';
import { createServers } from '../servers/create.handler.ts';
import { addFloatingIpToServer, removeFloatingIpFromServer } from '../servers/floatingIps.ts';
import { createInput, metadata, serverName, tag } from '../servers/create.schema.ts';
import { rebuildServer } from '../servers/rebuild.ts';
import { rescueServer, unrescueServer } from '../servers/rescue.ts';
import { confirmResize, resizeServer, revertResize } from '../servers/resize.ts';
import { createServerImage } from '../servers/snapshot.ts';
import { listInput, listOutput, listServers } from '../servers/list.ts';
import { server, toServers } from '../servers/view.ts';
import type { Context } from '../context.ts';
import { watchServers } from '../servers/watch.ts';
import { authedProcedure, router } from '../trpc.ts';

const byId = z.object({ id });
const floatingAddress = z.object({ id, address: z.string().trim().min(1, 'must be a floating IP address').max(64, 'must be a floating IP address') });
const one = async (ctx: Context, row: InstanceRow, isAdmin: boolean) => (await toServers(ctx.db, [row], isAdmin, ctx.config.defaultAvailabilityZone))[0]!;

const hostAction = (action: Parameters<typeof runHostAction>[3]) =>
  authedProcedure
    .input(byId)
    .output(server)
    .mutation(async ({ ctx, input }) => one(ctx, await runHostAction(ctx, ctx.auth, input.id, action), ctx.auth.isAdmin));

const actionEvent = z.object({
  event: z.string(),
  result: z.enum(['Success', 'Error']).nullable(),
  details: z.string().nullable(),
  host: z.string().nullable().optional(),
  startedAt: isoDate,
  finishedAt: isoDate.nullable(),
});

export const serversRouter = router({
  /** Launches `count` servers; they answer in BUILD at once and turn ACTIVE (or ERROR, with the reason) later. */
  create: authedProcedure
    .input(createInput)
    .output(z.array(server))
    .mutation(({ ctx, input }) => createServers(ctx, ctx.auth, input)),

  list: authedProcedure
    .input(listInput)
    .output(listOutput)
    .query(({ ctx, input }) => listServers(ctx, ctx.auth, input)),

  get: authedProcedure
    .input(byId)
    .output(server)
    .query(async ({ ctx, input }) => one(ctx, await visibleServer(ctx, ctx.auth, input.id), ctx.auth.isAdmin)),

  update: authedProcedure
    .input(z.object({ id, name: serverName.optional(), metadata: metadata.optional(), tags: z.array(tag).max(50, 'at most 50 tags').optional() }))
    .output(server)
    .mutation(async ({ ctx, input }) => {
      const row = await visibleServer(ctx, ctx.auth, input.id);
      if (row.locked && !ctx.auth.isAdmin) throw new AsterError('InvalidState', `Server ${row.name} is locked; unlock it before you change it`);
      const { rows } = await ctx.db.query<InstanceRow>(
        `UPDATE instances SET name = COALESCE($2, name), metadata = COALESCE($3, metadata), tags = COALESCE($4, tags)
          WHERE id = $1 AND deleted_at IS NULL RETURNING *`,
        [input.id, input.name ?? null, input.metadata ? JSON.stringify(input.metadata) : null, input.tags ?? null],
      );
      if (!rows[0]) throw new AsterError('NotFound', `Server ${input.id} not found`);
      return one(ctx, rows[0], ctx.auth.isAdmin);
    }),

  delete: authedProcedure
    .input(byId)
    .output(server)
    .mutation(async ({ ctx, input }) => one(ctx, await deleteServer(ctx, ctx.auth, input.id), ctx.auth.isAdmin)),

  start: hostAction('start'),
  stop: hostAction('stop'),
  pause: hostAction('pause'),
  unpause: hostAction('unpause'),
  suspend: hostAction('suspend'),
  resume: hostAction('resume'),
  reboot: authedProcedure
    .input(z.object({ id, type: z.enum(['SOFT', 'HARD'], { error: 'must be SOFT or HARD' }).default('SOFT') }))
    .output(server)
    .mutation(async ({ ctx, input }) =>
      one(ctx, await runHostAction(ctx, ctx.auth, input.id, input.type === 'HARD' ? 'rebootHard' : 'rebootSoft'), ctx.auth.isAdmin),
    ),

  /**
   * Gives the server another flavor on its own host (from ACTIVE or SHUTOFF); it waits in VERIFY_RESIZE with
   * both flavors held until confirmResize or revertResize. The disk may grow but never shrinks.
   */
  resize: authedProcedure
    .input(z.object({ id, flavorId: id }))
    .output(server)
    .mutation(async ({ ctx, input }) => one(ctx, await resizeServer(ctx, ctx.auth, input.id, input.flavorId), ctx.auth.isAdmin)),
  /** Keeps the new flavor of a server in VERIFY_RESIZE and frees what the old one held. */
  confirmResize: authedProcedure
    .input(byId)
    .output(server)
    .mutation(async ({ ctx, input }) => one(ctx, await confirmResize(ctx, ctx.auth, input.id), ctx.auth.isAdmin)),
  /** Gives a server in VERIFY_RESIZE its old flavor back: vCPUs and memory; its disk keeps the size it grew to. */
  revertResize: authedProcedure
    .input(byId)
    .output(server)
    .mutation(async ({ ctx, input }) => one(ctx, await revertResize(ctx, ctx.auth, input.id), ctx.auth.isAdmin)),
  /** A new root disk from `imageId` on the same host, keeping addresses, key and user data; optionally a new name. */
  rebuild: authedProcedure
    .input(z.object({ id, imageId: id, name: serverName.optional() }))
    .output(server)
    .mutation(async ({ ctx, input }) => one(ctx, await rebuildServer(ctx, ctx.auth, input), ctx.auth.isAdmin)),
  /**
   * Boots the server from a fresh disk of `imageId` (or of its own image) with its own disk attached second,
   * same addresses, so it can be repaired (from ACTIVE, SHUTOFF or ERROR); it turns RESCUE.
   */
  rescue: authedProcedure
    .input(z.object({ id, imageId: id.optional() }))
    .output(server)
    .mutation(async ({ ctx, input }) => one(ctx, await rescueServer(ctx, ctx.auth, input), ctx.auth.isAdmin)),
  /** Boots a server in RESCUE from its own disk again and deletes the rescue disk; it turns ACTIVE. */
  unrescue: authedProcedure
    .input(byId)
    .output(server)
    .mutation(async ({ ctx, input }) => one(ctx, await unrescueServer(ctx, ctx.auth, input.id), ctx.auth.isAdmin)),
  /** Snapshots the server's disk into a new private image of its project, answered at once; it turns active once uploaded. */
  createImage: authedProcedure
    .input(z.object({ id, name: imageName, metadata: properties.optional() }))
    .output(z.object({ imageId: z.string() }))
    .mutation(({ ctx, input }) => createServerImage(ctx, ctx.auth, input)),

  lock: authedProcedure
    .input(z.object({ id, reason: z.string().max(255, 'must be at most 255 characters').optional() }))
    .output(server)
    .mutation(async ({ ctx, input }) => one(ctx, await setLock(ctx, ctx.auth, input.id, true, input.reason), ctx.auth.isAdmin)),
  unlock: authedProcedure
    .input(byId)
    .output(server)
    .mutation(async ({ ctx, input }) => one(ctx, await setLock(ctx, ctx.auth, input.id, false), ctx.auth.isAdmin)),

  /**
   * Associates the project's floating IP `address` with the server: its first port on a network that a router
   * joins to the floating IP's network (Nova's addFloatingIp). Already the server's: nothing changes.
   */
  addFloatingIp: authedProcedure
    .input(floatingAddress)
    .output(server)
    .mutation(async ({ ctx, input }) => one(ctx, await addFloatingIpToServer(ctx, ctx.auth, input), ctx.auth.isAdmin)),
  /** Disassociates the floating IP `address` from the server; it stays allocated to the project. */
  removeFloatingIp: authedProcedure
    .input(floatingAddress)
    .output(server)
    .mutation(async ({ ctx, input }) => one(ctx, await removeFloatingIpFromServer(ctx, ctx.auth, input), ctx.auth.isAdmin)),

  /** The serial console's output so far, read from the host (the last `lines` lines when given). */
  consoleLog: authedProcedure
    .input(z.object({ id, lines: z.number().int().min(1, 'must be at least 1').max(10000, 'must be at most 10000').optional() }))
    .output(z.object({ output: z.string() }))
    .query(({ ctx, input }) => consoleLogOf(ctx, ctx.auth, input.id, input.lines)),

  /**
   * A token for one of the server's consoles, good for `ASTER_CONSOLE_TOKEN_TTL` seconds while the guest keeps
   * running: `url` opens the console page, `websocketUrl` is what other clients connect to (raw bytes of
   * the console's protocol: RFB for novnc, SPICE for spice-html5, the serial port's text for serial).
   */
  getConsole: authedProcedure
    .input(z.object({ id, type: z.enum(consoleTypes, { error: `must be one of ${consoleTypes.join(', ')}` }) }))
    .output(z.object({ type: z.enum(consoleTypes), url: z.string(), websocketUrl: z.string(), token: z.string(), expiresAt: isoDate }))
    .mutation(({ ctx, input }) => openConsole(ctx, ctx.auth, input.id, input.type)),

  /** The instance-action history: who asked for what, when, and what each step did. */
  actions: authedProcedure
    .input(byId)
    .output(
      z.array(
        z.object({
          id: z.string(),
          action: z.string(),
          requestId: z.string(),
          userId: z.string().nullable(),
          message: z.string().nullable(),
          startedAt: isoDate,
          finishedAt: isoDate.nullable(),
          events: z.array(actionEvent),
        }),
      ),
    )
    .query(async ({ ctx, input }) => {
      await visibleServer(ctx, ctx.auth, input.id);
      const { rows } = await ctx.db.query<{
        id: string;
        action: string;
        request_id: string;
        user_id: string | null;
        message: string | null;
        started_at: Date;
        finished_at: Date | null;
        events: { event: string; result: 'Success' | 'Error' | null; details: string | null; host: string | null; started_at: string; finished_at: string | null }[];
      }>(
        `SELECT a.*, COALESCE((SELECT jsonb_agg(e ORDER BY e.id) FROM instance_action_events e WHERE e.action_id = a.id), '[]') AS events
           FROM instance_actions a WHERE a.instance_id = $1 ORDER BY a.started_at, a.id`,
        [input.id],
      );
      const admin = ctx.auth.isAdmin;
      return rows.map((a) => ({
        id: a.id,
        action: a.action,
        requestId: a.request_id,
        userId: a.user_id,
        message: a.message,
        startedAt: toIso(a.started_at),
        finishedAt: a.finished_at ? toIso(a.finished_at) : null,
        events: a.events.map((e) => ({
          event: e.event,
          result: e.result,
          details: e.details,
          ...(admin ? { host: e.host } : {}),
          startedAt: new Date(e.started_at).toISOString(),
          finishedAt: e.finished_at ? new Date(e.finished_at).toISOString() : null,
        })),
      }));
    }),

  /**
   * Every change of the caller's servers (all servers, for administrators), pushed as it commits. Each event's
   * id is the change's sequence number: a client that reconnects with its last id misses nothing.
   */
  watch: authedProcedure
    .input(z.object({ lastEventId: z.string().regex(/^\d+$/, 'must be a change number').nullish() }).optional())
    .subscription(({ ctx, input, signal }) => watchServers(ctx, ctx.auth, input?.lastEventId ?? null, signal)),
});
