import { authRouter } from './router/auth.ts';
import { credentialsRouter } from './router/credentials.ts';
import { projectsRouter } from './router/projects.ts';
import { roleAssignmentsRouter } from './router/roleAssignments.ts';
import { servicesRouter } from './router/services.ts';
import { usersRouter } from './router/users.ts';
import { createCallerFactory, router } from './trpc.ts';

export const appRouter = router({
  auth: authRouter,
  projects: projectsRouter,
  users: usersRouter,
  roleAssignments: roleAssignmentsRouter,
  credentials: credentialsRouter,
  services: servicesRouter,
});

export type AppRouter = typeof appRouter;

export const createCaller = createCallerFactory(appRouter);
