'use client';

import { useMutation } from '@tanstack/react-query';
import { useToast } from '@/components/toast';
import { describeApiError } from '@/lib/api-error';
import { useTRPC } from '@/lib/trpc';
import { ConfirmDialog } from '@/components/ui/confirm-dialog';
import type { Service } from './types';

/** What the dialog is asked to do: mark a compute host dead, or take that mark back. */
export interface ForceDownRequest {
  service: Service;
  forcedDown: boolean;
}

/**
 * Forcing a compute host down tells the scheduler it is dead whatever its heartbeat says (Nova's forced_down,
 * set by an operator who knows the host is gone, e.g. before evacuating it); clearing it lets the heartbeat
 * decide again. Both are asked before they are done.
 */
export function ForceDownDialog({ request, onClose, onDone }: { request: ForceDownRequest | null; onClose: () => void; onDone: () => unknown }) {
  const trpc = useTRPC();
  const toast = useToast();
  const forceDown = useMutation(trpc.services.forceDown.mutationOptions({ onSettled: onDone }));
  const host = request?.service.host ?? '';
  const run = async ({ service, forcedDown }: ForceDownRequest) => {
    try {
      await forceDown.mutateAsync({ id: service.id, forcedDown });
      toast.show('success', forcedDown ? `${service.host} is forced down` : `${service.host} is no longer forced down`);
    } catch (error) {
      toast.show('error', `Could not ${forcedDown ? 'force down' : 'clear forced down on'} ${service.host}: ${describeApiError(error)}`);
      throw error;
    }
  };
  const forcing = request?.forcedDown ?? true;
  return (
    <ConfirmDialog
      open={request !== null}
      title={forcing ? `Force down ${host}` : `Clear forced down on ${host}`}
      confirmLabel={forcing ? 'Force down' : 'Clear forced down'}
      onConfirm={() => (request ? run(request) : Promise.resolve())}
      onClose={onClose}
    >
      {forcing ? (
        <p>
          The scheduler will treat <strong>{host}</strong> as down, whatever its heartbeat says, and place no new instance on it. Instances
          already there are not touched. Do this only when you know the host is gone.
        </p>
      ) : (
        <p>
          <strong>{host}</strong> will count as up again while its heartbeat arrives, and the scheduler may place new instances on it.
        </p>
      )}
    </ConfirmDialog>
  );
}
