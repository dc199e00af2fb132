import type { HostFilter } from '../types.ts';
import { pass, refuse } from './result.ts';

/** Nova's ComputeFilter: the host's compute service is enabled and up. Disabled is said first: it is the operator's word. */
export const computeFilter: HostFilter = {
  name: 'Compute',
  check(host) {
    if (host.serviceDisabled) return refuse(host.disabledReason ? `is disabled: ${host.disabledReason}` : 'is disabled');
    if (host.forcedDown) return refuse('is forced down by an operator');
    if (!host.serviceUp) return refuse('is down (no heartbeat)');
    return pass;
  },
};
