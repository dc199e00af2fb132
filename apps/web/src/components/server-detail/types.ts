import type { AppRouter } from '@aster/client';
import type { inferRouterOutputs } from '@trpc/server';

type Outputs = inferRouterOutputs<AppRouter>;
export type Server = Outputs['servers']['get'];
export type InstanceAction = Outputs['servers']['actions'][number];

export const TABS = ['overview', 'console', 'log', 'actions'] as const;
export type Tab = (typeof TABS)[number];
export const TAB_LABELS: Record<Tab, string> = { overview: 'Overview', console: 'Console', log: 'Log', actions: 'Action log' };

/** The newer of two views of one server: watch events and mutation answers may arrive in any order. */
export function newer(a: Server | undefined, b: Server): Server {
  if (!a) return b;
  return BigInt(b.changeSeq) >= BigInt(a.changeSeq) ? b : a;
}
