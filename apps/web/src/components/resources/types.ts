import type { AppRouter } from '@aster/client';
import type { inferRouterOutputs } from '@trpc/server';

type Outputs = inferRouterOutputs<AppRouter>;

export type Image = Outputs['images']['list'][number];
export type Keypair = Outputs['keypairs']['list'][number];
export type Flavor = Outputs['flavors']['list'][number];
export type Network = Outputs['networks']['list'][number];
export type Limits = Outputs['limits']['get'];
export type ProjectQuota = Outputs['quotas']['get'];
export type Server = Outputs['servers']['list']['servers'][number];
