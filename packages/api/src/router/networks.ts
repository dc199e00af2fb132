import { z } from 'zod';
import { createNetwork, deleteNetwork, loadNetworks, type NetworkView } from '../compute/networks.ts';
import { AsterError } from '../errors.ts';
import { id, isoDate, name, toIso } from '../schemas.ts';
import { authedProcedure, router } from '../trpc.ts';

const subnet = z.object({
  id: z.string(),
  cidr: z.string(),
  gateway: z.string().nullable(),
  allocationStart: z.string(),
  allocationEnd: z.string(),
  dnsServers: z.array(z.string()),
  enableDhcp: z.boolean(),
  used: z.number().int(),
  available: z.number().int(),
});
const network = z.object({
  id: z.string(),
  name: z.string(),
  projectId: z.string().nullable(),
  shared: z.boolean(),
  bridge: z.string().nullable(),
  subnets: z.array(subnet),
  createdAt: isoDate,
});
const toNetwork = (n: NetworkView): z.infer<typeof network> => ({
  id: n.id,
  name: n.name,
  projectId: n.projectId,
  shared: n.shared,
  bridge: n.bridge,
  subnets: n.subnets,
  createdAt: toIso(n.createdAt),
});

// Addresses are checked by planSubnet, so that the API and the launcher's seed give the same messages.
const address = z.string().trim().min(1, 'must be an IPv4 address').max(64, 'must be an IPv4 address');
const subnetInput = z.object({
  cidr: z.string().trim().min(1, 'must be an IPv4 network like 192.168.1.0/24').max(64, 'must be an IPv4 network like 192.168.1.0/24'),
  gateway: address.optional(),
  allocationStart: address.optional(),
  allocationEnd: address.optional(),
  dnsServers: z.array(address).max(5, 'at most 5 DNS servers').optional(),
  enableDhcp: z.boolean().optional(),
});
// A Linux interface name: at most 15 characters, no slash or space.
const bridge = z
  .string()
  .regex(/^[A-Za-z0-9][A-Za-z0-9_.-]{0,14}$/, 'must be a host bridge name: up to 15 letters, digits, . _ -, starting with a letter or digit');

/** Tenant networks (Neutron's, reduced to what Aster needs): one IPv4 subnet each, addresses handed out per port. */
export const networksRouter = router({
  /** The project's networks and the shared ones; administrators may ask for every project's. */
  list: authedProcedure
    .input(z.object({ allProjects: z.boolean().default(false) }).optional())
    .output(z.array(network))
    .query(async ({ ctx, input }) => {
      if (input?.allProjects && !ctx.auth.isAdmin) {
        throw new AsterError('Forbidden', 'allProjects needs a cloud administrator (role admin on the admin project)');
      }
      const scope = input?.allProjects ? { all: true as const } : { projectId: ctx.auth.project.id };
      return (await loadNetworks(ctx.db, scope)).map(toNetwork);
    }),

  get: authedProcedure
    .input(z.object({ id }))
    .output(network)
    .query(async ({ ctx, input }) => {
      const scope = ctx.auth.isAdmin ? { all: true as const } : { projectId: ctx.auth.project.id };
      const [found] = await loadNetworks(ctx.db, scope, [input.id]);
      if (!found) throw new AsterError('NotFound', `Network ${input.id} not found`);
      return toNetwork(found);
    }),

  /** A network of the caller's project with one subnet; shared networks and host bridges are for administrators. */
  create: authedProcedure
    .input(z.object({ name, shared: z.boolean().default(false), bridge: bridge.optional(), subnet: subnetInput }))
    .output(network)
    .mutation(async ({ ctx, input }) => {
      if (input.shared && !ctx.auth.isAdmin) {
        throw new AsterError('Forbidden', 'shared: only a cloud administrator may create a shared network');
      }
      if (input.bridge !== undefined && !ctx.auth.isAdmin) {
        throw new AsterError('Forbidden', 'bridge: only a cloud administrator may choose the host bridge of a network');
      }
      const created = await createNetwork(ctx.db, {
        name: input.name,
        projectId: ctx.auth.project.id,
        shared: input.shared,
        bridge: input.bridge ?? null,
        subnet: input.subnet,
      });
      return toNetwork(created);
    }),

  /** Refused while any port is on the network: delete its servers first. */
  delete: authedProcedure
    .input(z.object({ id }))
    .output(z.object({ id: z.string() }))
    .mutation(async ({ ctx, input }) => {
      await deleteNetwork(ctx.db, ctx.auth, input.id);
      return { id: input.id };
    }),
});
