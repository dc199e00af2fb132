'use client';

import { useMutation, useQuery } from '@tanstack/react-query';
import { useEffect, useRef, useState, type FormEvent } from 'react';
import { useServerActions } from '@/components/server-actions/tracker';
import { useTRPC } from '@/lib/trpc';
import { Dialog } from '@/components/ui/dialog';
import { ErrorAlert } from '@/components/ui/query-state';
import { FormButtons } from '@/components/ui/form';
import ui from '@/components/ui/ui.module.css';
import { LaunchFields, type Choices } from './launch-fields';
import { AUTO_NETWORK, chosenGroups, chosenNetworks } from './launch-networks';
import type { Server } from './types';
import { choiceProblems, MAX_USER_DATA, validate, type LaunchContext, type LaunchDraft, type Problems } from './validate';

const empty: LaunchDraft = { name: '', imageId: '', flavorId: '', networkId: '', moreNetworkIds: [], securityGroupIds: null, keyName: '', userData: '', count: '1', serverGroupId: '', availabilityZone: '' };

/**
 * Launch instance: a modal form. The new servers show in the list as the API answers (in BUILD), and the action
 * tracker toasts each when it is running, or in ERROR with the reason; a refusal stays in the form. The new
 * servers are handed to `onLaunched` as the dialog closes.
 */
export function LaunchDialog({ onClose, onLaunched }: { onClose: () => void; onLaunched: (servers: Server[]) => void }) {
  const trpc = useTRPC();
  const { launch } = useServerActions();
  const [draft, setDraft] = useState(empty);
  // Once Launch was pressed, every problem shows and goes away as soon as it is fixed; before, only the choices' own.
  const [tried, setTried] = useState(false);
  // Bumped by each refused Launch: the first field with a problem is then brought into view and focused.
  const [refusals, setRefusals] = useState(0);
  // A file too big to read stays a problem until another file or text replaces it.
  const [fileProblem, setFileProblem] = useState<string | null>(null);
  const form = useRef<HTMLFormElement>(null);
  const failure = useRef<HTMLDivElement>(null);

  const images = useQuery(trpc.images.list.queryOptions({ status: 'active' }));
  const flavors = useQuery(trpc.flavors.list.queryOptions({}));
  const networks = useQuery(trpc.networks.list.queryOptions());
  const keypairs = useQuery(trpc.keypairs.list.queryOptions());
  const limits = useQuery(trpc.limits.get.queryOptions());
  const groups = useQuery(trpc.serverGroups.list.queryOptions({}));
  const zones = useQuery(trpc.availabilityZones.list.queryOptions());
  const securityGroups = useQuery(trpc.securityGroups.list.queryOptions());
  const create = useMutation({ mutationFn: launch });

  const choices: Choices = {
    images: images.data ?? [],
    flavors: flavors.data ?? [],
    networks: networks.data ?? [],
    keypairs: keypairs.data ?? [],
    limits: limits.data,
    serverGroups: groups.data ?? [],
    zones: zones.data ?? [],
    securityGroups: securityGroups.data ?? [],
    loading: networks.isPending,
    groupsLoading: securityGroups.isPending,
  };
  // `auto` (the API decides: the project's network if it has exactly one, else public) unless one is picked.
  const networkId = draft.networkId || AUTO_NETWORK;
  const loadError = [images, flavors, networks, keypairs, limits, groups, zones, securityGroups].find((q) => q.error)?.error;
  const context: LaunchContext = {
    image: choices.images.find((i) => i.id === draft.imageId),
    flavor: choices.flavors.find((f) => f.id === draft.flavorId),
    limits: choices.limits,
  };
  const problems: Problems = { ...(tried ? validate(draft, context) : choiceProblems(draft, context)), ...(fileProblem ? { userData: fileProblem } : {}) };

  useEffect(() => {
    if (!refusals) return;
    const field = form.current?.querySelector<HTMLElement>('[aria-invalid="true"]');
    if (!field) return;
    // The whole field (label, control and its problem) in view, then the focus on its control.
    (field.closest(`.${ui.field}`) ?? field).scrollIntoView({ block: 'nearest' });
    field.focus({ preventScroll: true });
  }, [refusals]);

  useEffect(() => {
    if (create.error) failure.current?.scrollIntoView({ block: 'nearest' });
  }, [create.error]);

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
    setTried(true);
    const found = { ...validate(draft, context), ...(fileProblem ? { userData: fileProblem } : {}) };
    if (Object.keys(found).length) {
      setRefusals((n) => n + 1);
      return;
    }
    const name = draft.name.trim();
    const nets = chosenNetworks({ ...draft, networkId });
    create.mutate(
      {
        name,
        imageId: draft.imageId,
        flavorId: draft.flavorId,
        count: Number(draft.count),
        ...(nets ? { networks: nets } : {}),
        // Until the groups are known the API's own default (the project's `default`) stands.
        ...(securityGroups.data ? { securityGroups: chosenGroups(draft, securityGroups.data) } : {}),
        ...(draft.keyName ? { keyName: draft.keyName } : {}),
        ...(draft.userData ? { userData: draft.userData } : {}),
        ...(draft.serverGroupId ? { serverGroupId: draft.serverGroupId } : {}),
        ...(draft.availabilityZone ? { availabilityZone: draft.availabilityZone } : {}),
      },
      {
        onSuccess: (servers) => {
          onLaunched(servers);
          onClose();
        },
      },
    );
  };

  return (
    <Dialog title="Launch instance" onClose={onClose}>
      <form ref={form} onSubmit={submit} noValidate className={ui.form}>
        {loadError ? (
          <p role="alert" className={ui.alert}>
            {loadError.message}
          </p>
        ) : null}
        <LaunchFields draft={{ ...draft, networkId }} problems={problems} choices={choices} set={set} onFile={(f) => void onFile(f)} />
        <div ref={failure}>
          <ErrorAlert error={create.error} />
        </div>
        <FormButtons label="Launch" pending={create.isPending} onCancel={onClose} />
      </form>
    </Dialog>
  );
}
