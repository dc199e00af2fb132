'use client';

import { useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import { Fragment, useState } from 'react';
import { useToast } from '@/components/toast';
import { useTRPC } from '@/lib/trpc';
import { ConfirmDialog } from '../confirm-dialog';
import { errorText, formatMb } from '../format';
import { GatedButton } from '../gated-button';
import { useAdminOnlyReason } from '../gate';
import { QueryStatus } from '../query-status';
import styles from '../resources.module.css';
import type { Flavor } from '../types';
import { CreateFlavorDialog } from './create-dialog';
import { FlavorAccess } from './flavor-access';

/** The sizes servers launch with; administrators create, delete and share them. */
export function FlavorsView() {
  const trpc = useTRPC();
  const queryClient = useQueryClient();
  const toast = useToast();
  const createBlocked = useAdminOnlyReason('create flavors');
  const deleteBlocked = useAdminOnlyReason('delete flavors');
  const flavors = useQuery(trpc.flavors.list.queryOptions({}));
  const remove = useMutation(trpc.flavors.delete.mutationOptions());
  const [creating, setCreating] = useState(false);
  const [deleting, setDeleting] = useState<Flavor | null>(null);
  const [sharing, setSharing] = useState<string | null>(null);

  const deleteFlavor = async (flavor: Flavor) => {
    try {
      await remove.mutateAsync({ id: flavor.id });
      toast.show('success', `Flavor ${flavor.name} deleted`);
    } catch (error) {
      toast.show('error', `Could not delete flavor ${flavor.name}: ${errorText(error)}`);
      throw error;
    } finally {
      void queryClient.invalidateQueries({ queryKey: trpc.flavors.pathKey() });
    }
  };

  return (
    <>
      <div className={styles.toolbar}>
        <p className="muted">Public flavors, and the private ones shared with your project.</p>
        <GatedButton blocked={createBlocked} onClick={() => setCreating(true)}>
          Create flavor
        </GatedButton>
      </div>
      <QueryStatus isPending={flavors.isPending} error={flavors.error} what="flavors" />
      {flavors.data ? (
        <div className={styles.tableWrap}>
          <table className={styles.table} aria-label="Flavors">
            <thead>
              <tr>
                <th>Name</th>
                <th className={styles.num}>vCPUs</th>
                <th className={styles.num}>RAM</th>
                <th className={styles.num}>Disk</th>
                <th>Public</th>
                <th>Actions</th>
              </tr>
            </thead>
            <tbody>
              {flavors.data.map((flavor) => (
                <Fragment key={flavor.id}>
                  <tr>
                    <td data-label="Name">
                      {flavor.name}
                      {flavor.description ? <div className="muted">{flavor.description}</div> : null}
                    </td>
                    <td data-label="vCPUs" className={styles.num}>{flavor.vcpus}</td>
                    <td data-label="RAM" className={styles.num}>{formatMb(flavor.ramMb)}</td>
                    <td data-label="Disk" className={styles.num}>{flavor.diskGb} GB</td>
                    <td data-label="Public">{flavor.isPublic ? 'yes' : 'no'}</td>
                    <td>
                      <div className={styles.actions}>
                        {!flavor.isPublic && !deleteBlocked ? (
                          <button
                            type="button"
                            className="secondary"
                            aria-expanded={sharing === flavor.id}
                            aria-label={`Access to ${flavor.name}`}
                            onClick={() => setSharing(sharing === flavor.id ? null : flavor.id)}
                          >
                            Access
                          </button>
                        ) : null}
                        <GatedButton blocked={deleteBlocked} className={styles.danger} aria-label={`Delete ${flavor.name}`} onClick={() => setDeleting(flavor)}>
                          Delete
                        </GatedButton>
                      </div>
                    </td>
                  </tr>
                  {sharing === flavor.id ? (
                    <tr className={styles.details}>
                      <td colSpan={6}>
                        <FlavorAccess flavor={flavor} />
                      </td>
                    </tr>
                  ) : null}
                </Fragment>
              ))}
            </tbody>
          </table>
        </div>
      ) : null}
      <CreateFlavorDialog open={creating} onClose={() => setCreating(false)} />
      <ConfirmDialog
        open={deleting !== null}
        title={`Delete flavor ${deleting?.name ?? ''}`}
        confirmLabel="Delete flavor"
        onConfirm={() => (deleting ? deleteFlavor(deleting) : Promise.resolve())}
        onClose={() => setDeleting(null)}
      >
        <p>
          Flavor <strong>{deleting?.name}</strong> will be deleted. Servers launched with it keep their size; no new ones can use it.
        </p>
      </ConfirmDialog>
    </>
  );
}
