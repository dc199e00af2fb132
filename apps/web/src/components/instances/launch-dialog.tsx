'use client';

import { useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import { useEffect, useId, useRef, useState, type FormEvent } from 'react';
import { useToast } from '@/components/toast';
import { useTRPC } from '@/lib/trpc';
import styles from './instances.module.css';
import { LaunchFields, type Choices } from './launch-fields';
import { quotaProblem } from './quota';
import type { Server } from './types';
import { MAX_USER_DATA, validate, type LaunchDraft, type Problems } from './validate';

const empty: LaunchDraft = { name: '', imageId: '', flavorId: '', networkId: '', keyName: '', userData: '', count: '1' };

/** Launch instance: a modal form; the new servers are handed to `onLaunched` as the API answers (in BUILD). */
export function LaunchDialog({ onClose, onLaunched }: { onClose: () => void; onLaunched: (servers: Server[]) => void }) {
  const trpc = useTRPC();
  const queryClient = useQueryClient();
  const toast = useToast();
  const dialog = useRef<HTMLDialogElement>(null);
  const titleId = useId();
  const [draft, setDraft] = useState(empty);
  const [problems, setProblems] = useState<Problems>({});
  // A file too big to read stays a problem until another file or text replaces it.
  const [fileProblem, setFileProblem] = useState<string | null>(null);

  const images = useQuery(trpc.images.list.queryOptions({ status: 'active' }));
  const flavors = useQuery(trpc.flavors.list.queryOptions({}));
  const networks = useQuery(trpc.networks.list.queryOptions());
  const keypairs = useQuery(trpc.keypairs.list.queryOptions());
  const limits = useQuery(trpc.limits.get.queryOptions());
  const create = useMutation(trpc.servers.create.mutationOptions());

  // Opened once mounted; unmounting removes it. (Closing it in a cleanup would fire onClose under StrictMode's rerun.)
  useEffect(() => {
    const d = dialog.current;
    if (d && !d.open) d.showModal();
  }, []);

  const choices: Choices = {
    images: images.data ?? [],
    flavors: flavors.data ?? [],
    networks: networks.data ?? [],
    keypairs: keypairs.data ?? [],
    limits: limits.data,
    loading: networks.isPending,
  };
  // The shared network unless the user picks another.
  const networkId = draft.networkId || (choices.networks.find((n) => n.shared) ?? choices.networks[0])?.id || '';
  const loadError = [images, flavors, networks, keypairs, limits].find((q) => q.error)?.error;

  const set = (change: Partial<LaunchDraft>) => {
    if (change.userData !== undefined) setFileProblem(null);
    setDraft((d) => ({ ...d, ...change }));
  };
  const onFile = async (file: File | undefined) => {
    if (!file) return;
    if (file.size > MAX_USER_DATA) return setFileProblem(`${file.name} is ${file.size} bytes; at most ${MAX_USER_DATA} bytes (64 KiB)`);
    set({ userData: await file.text() });
  };

  const submit = (event: FormEvent) => {
    event.preventDefault();
    const found = validate(draft);
    const flavor = choices.flavors.find((f) => f.id === draft.flavorId);
    const over = flavor ? quotaProblem(flavor, Number(draft.count), choices.limits) : null;
    if (over) found.flavorId = over;
    if (fileProblem) found.userData = fileProblem;
    setProblems(found);
    if (Object.keys(found).length) return;
    const name = draft.name.trim();
    create.mutate(
      {
        name,
        imageId: draft.imageId,
        flavorId: draft.flavorId,
        count: Number(draft.count),
        ...(networkId ? { networks: [networkId] } : {}),
        ...(draft.keyName ? { keyName: draft.keyName } : {}),
        ...(draft.userData ? { userData: draft.userData } : {}),
      },
      {
        onSuccess: (servers) => {
          onLaunched(servers);
          void queryClient.invalidateQueries({ queryKey: trpc.limits.pathKey() });
          toast.show('success', `Launching ${name}`);
          dialog.current?.close();
        },
      },
    );
  };

  return (
    <dialog ref={dialog} aria-labelledby={titleId} className={`card ${styles.dialog} ${styles.launch}`} onClose={onClose}>
      <form onSubmit={submit} noValidate className={styles.form}>
        <h2 id={titleId}>Launch instance</h2>
        {loadError ? (
          <p role="alert" className="alert">
            {loadError.message}
          </p>
        ) : null}
        <LaunchFields draft={{ ...draft, networkId }} problems={fileProblem ? { ...problems, userData: fileProblem } : problems} choices={choices} set={set} onFile={(f) => void onFile(f)} />
        {create.error ? (
          <p role="alert" className="alert">
            {create.error.message}
          </p>
        ) : null}
        <div className="dialog-buttons">
          <button type="submit" disabled={create.isPending} aria-busy={create.isPending}>
            Launch
          </button>
          <button type="button" className="secondary" onClick={() => dialog.current?.close()}>
            Cancel
          </button>
        </div>
      </form>
    </dialog>
  );
}
