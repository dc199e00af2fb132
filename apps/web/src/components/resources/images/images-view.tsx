'use client';

import { useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import { Fragment, useState } from 'react';
import { useToast } from '@/components/toast';
import { useTRPC } from '@/lib/trpc';
import { useWhoami } from '@/lib/whoami';
import { ConfirmDialog } from '../confirm-dialog';
import { formatBytes, formatDate, formatMb } from '../format';
import { GatedButton } from '../gated-button';
import { useReadOnlyReason } from '../gate';
import { QueryStatus } from '../query-status';
import styles from '../resources.module.css';
import type { Image } from '../types';
import { ImageDetails } from './image-details';
import { UploadDialog } from './upload-dialog';

/** The images this project sees: its own, shared with it, and public ones. */
export function ImagesView() {
  const trpc = useTRPC();
  const queryClient = useQueryClient();
  const toast = useToast();
  const whoami = useWhoami();
  const blocked = useReadOnlyReason();
  const images = useQuery(trpc.images.list.queryOptions({}));
  const remove = useMutation(trpc.images.delete.mutationOptions());
  const [uploading, setUploading] = useState(false);
  const [expanded, setExpanded] = useState<string | null>(null);
  const [deleting, setDeleting] = useState<Image | null>(null);

  const deleteImage = async (image: Image) => {
    try {
      await remove.mutateAsync({ id: image.id });
      toast.show('success', `Image ${image.name} deleted`);
    } catch (error) {
      toast.show('error', `Could not delete image ${image.name}: ${error instanceof Error ? error.message : String(error)}`);
      throw error;
    } finally {
      void queryClient.invalidateQueries({ queryKey: trpc.images.pathKey() });
    }
  };
  const deleteBlocked = (image: Image) =>
    blocked ?? (whoami.isAdmin || image.owner === whoami.project.id ? null : `Only the project that owns ${image.name} can delete it`);

  return (
    <>
      <div className={styles.toolbar}>
        <p className="muted">Your project&apos;s images, the ones shared with it, and public ones.</p>
        <GatedButton blocked={blocked} onClick={() => setUploading(true)}>
          Upload image
        </GatedButton>
      </div>
      <QueryStatus isPending={images.isPending} error={images.error} what="images" />
      {images.data ? (
        <div className={styles.tableWrap}>
          <table className={styles.table} aria-label="Images">
            <thead>
              <tr>
                <th>Name</th>
                <th>Status</th>
                <th>Visibility</th>
                <th>Format</th>
                <th className={styles.num}>Size</th>
                <th className={styles.num}>Min disk / RAM</th>
                <th>Created</th>
                <th>Actions</th>
              </tr>
            </thead>
            <tbody>
              {images.data.length === 0 ? (
                <tr>
                  <td colSpan={8} className="muted">
                    No images yet.
                  </td>
                </tr>
              ) : null}
              {images.data.map((image) => (
                <Fragment key={image.id}>
                  <tr>
                    <td data-label="Name">{image.name}</td>
                    <td data-label="Status">{image.status}</td>
                    <td data-label="Visibility">{image.visibility}</td>
                    <td data-label="Format">{image.diskFormat}</td>
                    <td data-label="Size" className={styles.num}>{formatBytes(image.sizeBytes)}</td>
                    <td data-label="Min disk / RAM" className={styles.num}>
                      {image.minDiskGb} GB / {formatMb(image.minRamMb)}
                    </td>
                    <td data-label="Created">{formatDate(image.createdAt)}</td>
                    <td>
                      <div className={styles.actions}>
                        <button
                          type="button"
                          className="secondary"
                          aria-expanded={expanded === image.id}
                          aria-label={`Details of ${image.name}`}
                          onClick={() => setExpanded(expanded === image.id ? null : image.id)}
                        >
                          Details
                        </button>
                        <GatedButton blocked={deleteBlocked(image)} className={styles.danger} aria-label={`Delete ${image.name}`} onClick={() => setDeleting(image)}>
                          Delete
                        </GatedButton>
                      </div>
                    </td>
                  </tr>
                  {expanded === image.id ? (
                    <tr className={styles.details}>
                      <td colSpan={8}>
                        <ImageDetails image={image} blocked={blocked} />
                      </td>
                    </tr>
                  ) : null}
                </Fragment>
              ))}
            </tbody>
          </table>
        </div>
      ) : null}
      <UploadDialog open={uploading} onClose={() => setUploading(false)} />
      <ConfirmDialog
        open={deleting !== null}
        title={`Delete image ${deleting?.name ?? ''}`}
        confirmLabel="Delete image"
        onConfirm={() => (deleting ? deleteImage(deleting) : Promise.resolve())}
        onClose={() => setDeleting(null)}
      >
        <p>
          Image <strong>{deleting?.name}</strong> and its data will be deleted. Servers already running from it keep their disks.
        </p>
      </ConfirmDialog>
    </>
  );
}
