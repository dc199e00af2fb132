import type { AppRouter } from '@aster/client';
import type { inferRouterInputs, inferRouterOutputs } from '@trpc/server';

type Outputs = inferRouterOutputs<AppRouter>;
type Inputs = inferRouterInputs<AppRouter>;

export type Server = Outputs['servers']['list']['servers'][number];
export type ServerList = Outputs['servers']['list'];
export type ListInput = Exclude<Inputs['servers']['list'], void | undefined>;
export type Flavor = Outputs['flavors']['list'][number];
export type Limits = Outputs['limits']['get'];

/** The row actions of this page, by the procedure each one calls. */
export type RowAction = 'start' | 'stop' | 'reboot' | 'delete';
