import type { AppRouter } from '@aster/client';
import type { inferRouterOutputs } from '@trpc/server';

type Outputs = inferRouterOutputs<AppRouter>;

export type ServerGroup = Outputs['serverGroups']['list'][number];
