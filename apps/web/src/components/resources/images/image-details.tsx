'use client';

import { useMutation, useQueryClient } from '@tanstack/react-query';
import { useId } from 'react';
import { useToast } from '@/components/toast';
import { useTRPC } from '@/lib/trpc';
import { useWhoami } from '@/lib/whoami';
import ui from '@/components/ui/ui.module.css';
import { formatBytes, formatDate } from '@/lib/format';
import { errorText } from '../format';
import styles from '../resources.module.css';
import type { Image } from '../types';
import { ImageMembers } from './image-members';
import { showsMembers } from './members';

const visibilities = ['private', 'shared', 'public'] as const;

/** The rest of an image: checksum, properties, fault, and its visibility (changeable by its owner). */
export function ImageDetails({ image, blocked }: { image: Image; blocked: string | null }) {
  const trpc = useTRPC();
  const queryClient = useQueryClient();
  const toast = useToast();
  const whoami = useWhoami();
  const selectId = useId();
  const update = useMutation(
    trpc.images.update.mutationOptions({
      onSuccess: (updated) => toast.show('success', `Image ${updated.name} is now ${updated.visibility}`),
      onError: (error) => toast.show('error', `Could not change the visibility of ${image.name}: ${error.message}`),
      onSettled: () => queryClient.invalidateQueries({ queryKey: trpc.images.pathKey() }),
    }),
  );
  const owns = whoami.isAdmin || image.owner === whoami.project.id;
  const why = blocked ?? (owns ? null : `Only the project that owns ${image.name} can change it`);
  const properties = Object.entries(image.properties);
  return (
    <div className={ui.form}>
      <dl className={ui.facts}>
        <dt>ID</dt>
        <dd className={styles.mono}>{image.id}</dd>
        <dt>Checksum (SHA-256)</dt>
        <dd className={styles.mono}>{image.checksumSha256 ?? '—'}</dd>
        <dt>Virtual size</dt>
        <dd>{formatBytes(image.virtualSize)}</dd>
        <dt>Protected</dt>
        <dd>{image.protected ? 'yes' : 'no'}</dd>
        <dt>Updated</dt>
        <dd>{formatDate(image.updatedAt)}</dd>
        <dt>Properties</dt>
        <dd>{properties.length ? properties.map(([k, v]) => `${k}=${v}`).join(', ') : 'none'}</dd>
        {image.fault ? (
          <>
            <dt>Fault</dt>
            <dd className={ui.alert}>{image.fault}</dd>
          </>
        ) : null}
      </dl>
      <div className={styles.check}>
        <label htmlFor={selectId}>Visibility of {image.name}</label>
        <select
          id={selectId}
          value={image.visibility}
          disabled={Boolean(why) || update.isPending}
          title={why ?? undefined}
          onChange={(e) => update.mutate({ id: image.id, visibility: e.target.value as Image['visibility'] })}
        >
          {visibilities.map((v) => (
            <option key={v} value={v} disabled={v === 'public' && !whoami.isAdmin && image.visibility !== 'public'}>
              {v}
            </option>
          ))}
        </select>
        {update.error ? (
          <span role="alert" className={ui.alert}>
            {errorText(update.error)}
          </span>
        ) : null}
      </div>
      {showsMembers(image, { projectId: whoami.project.id, isAdmin: whoami.isAdmin }) ? <ImageMembers image={image} blocked={blocked} /> : null}
    </div>
  );
}
