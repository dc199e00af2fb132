'use client';

import { useMutation, useQuery } from '@tanstack/react-query';
import { Fragment, useState } from 'react';
import { useTRPC } from '@/lib/trpc';
import { useWhoami } from '@/lib/whoami';
import { QueryState } from '@/components/ui/query-state';
import { ActionsCell, Table } from '@/components/ui/table';
import ui from '@/components/ui/ui.module.css';
import { formatBytes, formatDate, formatGiB, formatMiB } from '@/lib/format';
import { DeleteButton, DeleteDialog } from '../delete-dialog';
import { GatedButton } from '../gated-button';
import { useReadOnlyReason } from '../gate';
import styles from '../resources.module.css';
import type { Image } from '../types';
import { ImageDetails } from './image-details';
import { UploadDialog } from './upload-dialog';

/** The images this project sees: its own, shared with it, and public ones. */
export function ImagesView() {
  const trpc = useTRPC();
  const whoami = useWhoami();
  const blocked = useReadOnlyReason();
  const images = useQuery(trpc.images.list.queryOptions({}));
  const remove = useMutation(trpc.images.delete.mutationOptions());
  const [uploading, setUploading] = useState(false);
  const [expanded, setExpanded] = useState<string | null>(null);
  const [deleting, setDeleting] = useState<Image | null>(null);

  const deleteBlocked = (image: Image) =>
    blocked ?? (whoami.isAdmin || image.owner === whoami.project.id ? null : `Only the project that owns ${image.name} can delete it`);

  return (
    <>
      <div className={styles.toolbar}>
        <p className={ui.muted}>Your project&apos;s images, the ones shared with it, and public ones.</p>
        <GatedButton blocked={blocked} onClick={() => setUploading(true)}>
          Upload image
        </GatedButton>
      </div>
      <QueryState isPending={images.isPending} error={images.error} what="images" />
      {images.data ? (
        <Table label="Images" className={styles.table} columns={['Name', 'Status', 'Visibility', 'Format', { label: 'Size', className: styles.num }, { label: 'Min disk / RAM', className: styles.num }, 'Created', 'Actions']} empty={images.data.length === 0 ? 'No images yet.' : null}>
          {images.data.map((image) => (
            <Fragment key={image.id}>
              <tr>
                <td data-label="Name">{image.name}</td>
                <td data-label="Status">{image.status}</td>
                <td data-label="Visibility">{image.visibility}</td>
                <td data-label="Format">{image.diskFormat}</td>
                <td data-label="Size" className={styles.num}>{formatBytes(image.sizeBytes)}</td>
                <td data-label="Min disk / RAM" className={styles.num}>
                  {formatGiB(image.minDiskGb)} / {formatMiB(image.minRamMb)}
                </td>
                <td data-label="Created">{formatDate(image.createdAt)}</td>
                <ActionsCell>
                  <button
                    type="button"
                    className={ui.secondary}
                    aria-expanded={expanded === image.id}
                    aria-label={`Details of ${image.name}`}
                    onClick={() => setExpanded(expanded === image.id ? null : image.id)}
                  >
                    Details
                  </button>
                  <DeleteButton name={image.name} blocked={deleteBlocked(image)} onClick={() => setDeleting(image)} />
                </ActionsCell>
              </tr>
              {expanded === image.id ? (
                <tr className={ui.details}>
                  <td colSpan={8}>
                    <ImageDetails image={image} blocked={blocked} />
                  </td>
                </tr>
              ) : null}
            </Fragment>
          ))}
        </Table>
      ) : null}
      <UploadDialog open={uploading} onClose={() => setUploading(false)} />
      <DeleteDialog item={deleting} noun="image" remove={(image) => remove.mutateAsync({ id: image.id })} refresh={[trpc.images.pathKey()]} onClose={() => setDeleting(null)}>
        and its data will be deleted. Servers already running from it keep their disks.
      </DeleteDialog>
    </>
  );
}
