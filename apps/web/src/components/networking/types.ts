import type { AppRouter } from '@aster/client';
import type { inferRouterInputs, inferRouterOutputs } from '@trpc/server';

type Outputs = inferRouterOutputs<AppRouter>;
type Inputs = inferRouterInputs<AppRouter>;

export type Network = Outputs['networks']['get'];
export type Subnet = Outputs['subnets']['get'];
export type Port = Outputs['ports']['get'];
export type Router = Outputs['routers']['get'];
export type FloatingIp = Outputs['floatingIps']['get'];
export type SecurityGroup = Outputs['securityGroups']['get'];
export type SecurityGroupRule = SecurityGroup['rules'][number];
export type Topology = Outputs['networks']['topology'];
export type RuleInput = Inputs['securityGroups']['addRule'];
export type SubnetInput = Inputs['subnets']['create'];
