'use client';

import { useMutation, useQuery } from '@tanstack/react-query';
import { Fragment, useState } from 'react';
import { useTRPC } from '@/lib/trpc';
import { QueryState } from '@/components/ui/query-state';
import { ActionsCell, Table } from '@/components/ui/table';
import ui from '@/components/ui/ui.module.css';
import { formatGiB, formatMiB } from '@/lib/format';
import { DeleteButton, DeleteDialog } from '../delete-dialog';
import { GatedButton } from '../gated-button';
import { useAdminOnlyReason } from '../gate';
import styles from '../resources.module.css';
import type { Flavor } from '../types';
import { CreateFlavorDialog } from './create-dialog';
import { FlavorAccess } from './flavor-access';

/** The sizes servers launch with; administrators create, delete and share them. */
export function FlavorsView() {
  const trpc = useTRPC();
  const createBlocked = useAdminOnlyReason('create flavors');
  const deleteBlocked = useAdminOnlyReason('delete flavors');
  const flavors = useQuery(trpc.flavors.list.queryOptions({}));
  const remove = useMutation(trpc.flavors.delete.mutationOptions());
  const [creating, setCreating] = useState(false);
  const [deleting, setDeleting] = useState<Flavor | null>(null);
  const [sharing, setSharing] = useState<string | null>(null);


  return (
    <>
      <div className={styles.toolbar}>
        <p className={ui.muted}>Public flavors, and the private ones shared with your project.</p>
        <GatedButton blocked={createBlocked} onClick={() => setCreating(true)}>
          Create flavor
        </GatedButton>
      </div>
      <QueryState isPending={flavors.isPending} error={flavors.error} what="flavors" />
      {flavors.data ? (
        <Table label="Flavors" className={styles.table} columns={['Name', { label: 'vCPUs', className: styles.num }, { label: 'RAM', className: styles.num }, { label: 'Disk', className: styles.num }, 'Public', 'Actions']}>
          {flavors.data.map((flavor) => (
            <Fragment key={flavor.id}>
              <tr>
                <td data-label="Name">
                  {flavor.name}
                  {flavor.description ? <div className={ui.muted}>{flavor.description}</div> : null}
                </td>
                <td data-label="vCPUs" className={styles.num}>{flavor.vcpus}</td>
                <td data-label="RAM" className={styles.num}>{formatMiB(flavor.ramMb)}</td>
                <td data-label="Disk" className={styles.num}>{formatGiB(flavor.diskGb)}</td>
                <td data-label="Public">{flavor.isPublic ? 'yes' : 'no'}</td>
                <ActionsCell>
                  {!flavor.isPublic && !deleteBlocked ? (
                    <button
                      type="button"
                      className={ui.secondary}
                      aria-expanded={sharing === flavor.id}
                      aria-label={`Access to ${flavor.name}`}
                      onClick={() => setSharing(sharing === flavor.id ? null : flavor.id)}
                    >
                      Access
                    </button>
                  ) : null}
                  <DeleteButton name={flavor.name} blocked={deleteBlocked} onClick={() => setDeleting(flavor)} />
                </ActionsCell>
              </tr>
              {sharing === flavor.id ? (
                <tr className={ui.details}>
                  <td colSpan={6}>
                    <FlavorAccess flavor={flavor} />
                  </td>
                </tr>
              ) : null}
            </Fragment>
          ))}
        </Table>
      ) : null}
      <CreateFlavorDialog open={creating} onClose={() => setCreating(false)} />
      <DeleteDialog item={deleting} noun="flavor" remove={(flavor) => remove.mutateAsync({ id: flavor.id })} refresh={[trpc.flavors.pathKey()]} onClose={() => setDeleting(null)}>
        will be deleted. Servers launched with it keep their size; no new ones can use it.
      </DeleteDialog>
    </>
  );
}
