import { authRouter } from './router/auth.ts';
import { credentialsRouter } from './router/credentials.ts';
import { projectsRouter } from './router/projects.ts';
import { roleAssignmentsRouter } from './router/roleAssignments.ts';
import { servicesRouter } from './router/services.ts';
import { usersRouter } from './router/users.ts';
import { flavorsRouter } from './router/flavors.ts';
import { imagesRouter } from './router/images.ts';
import { keypairsRouter } from './router/keypairs.ts';
import { networksRouter } from './router/networks.ts';
import { subnetsRouter } from './router/subnets.ts';
import { portsRouter } from './router/ports.ts';
import { routersRouter } from './router/routers.ts';
import { floatingIpsRouter } from './router/floatingIps.ts';
import { securityGroupsRouter } from './router/securityGroups.ts';
import { quotasRouter } from './router/quotas.ts';
import { limitsRouter } from './router/limits.ts';
import { hypervisorsRouter } from './router/hypervisors.ts';
import { serversRouter } from './router/servers.ts';
import { serverGroupsRouter } from './router/serverGroups.ts';
import { aggregatesRouter } from './router/aggregates.ts';
import { availabilityZonesRouter } from './router/availabilityZones.ts';
import { createCallerFactory, router } from './trpc.ts';

export const appRouter = router({
  auth: authRouter,
  projects: projectsRouter,
  users: usersRouter,
  roleAssignments: roleAssignmentsRouter,
  credentials: credentialsRouter,
  services: servicesRouter,
  flavors: flavorsRouter,
  images: imagesRouter,
  keypairs: keypairsRouter,
  networks: networksRouter,
  subnets: subnetsRouter,
  ports: portsRouter,
  routers: routersRouter,
  floatingIps: floatingIpsRouter,
  securityGroups: securityGroupsRouter,
  quotas: quotasRouter,
  limits: limitsRouter,
  hypervisors: hypervisorsRouter,
  aggregates: aggregatesRouter,
  availabilityZones: availabilityZonesRouter,
  serverGroups: serverGroupsRouter,
  servers: serversRouter,
});

export type AppRouter = typeof appRouter;

export const createCaller = createCallerFactory(appRouter);
