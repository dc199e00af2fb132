'use client';

import { useQuery } from '@tanstack/react-query';
import { type ReactNode, useId, useState } from 'react';
import { describeApiError } from '@/lib/api-error';
import { flavorSize } from '@/lib/format';
import { useTRPC } from '@/lib/trpc';
import { describedBy, Field as FormField } from '@/components/ui/form';
import ui from '@/components/ui/ui.module.css';
import type { ActionInput, ActionKind } from './action-kinds';
import { ActionDialog } from './dialog';
import { lockReasonProblem, MAX_LOCK_REASON } from './lock';
import type { Server } from './types';

type Run = (kind: ActionKind, input?: ActionInput) => Promise<boolean>;
interface Props {
  server: Server;
  run: Run;
  onClose: () => void;
}

/** The actions that ask first: they stop a guest, throw its disk away or delete it. */
export const CONFIRM: Partial<Record<ActionKind, { title: (name: string) => string; text: string; label: string }>> = {
  stop: { title: (n) => `Stop ${n}?`, text: 'The guest is shut down; its disk is kept.', label: 'Stop' },
  rebootHard: { title: (n) => `Hard reboot ${n}?`, text: 'The guest is reset like a power cycle: unsaved data in it is lost.', label: 'Hard reboot' },
  delete: { title: (n) => `Delete ${n}?`, text: 'The server and its disk are deleted. This cannot be undone.', label: 'Delete' },
};

export function ConfirmDialog({ server, run, onClose, kind }: Props & { kind: ActionKind }) {
  const words = CONFIRM[kind];
  if (!words) return null;
  return (
    <ActionDialog title={words.title(server.name)} confirmLabel={words.label} danger onClose={onClose} onConfirm={() => run(kind)}>
      <p>{words.text}</p>
    </ActionDialog>
  );
}

function Field({ label, children }: { label: string; children: (id: string) => ReactNode }) {
  const id = useId();
  return (
    <p>
      <label htmlFor={id}>{label}</label> {children(id)}
    </p>
  );
}

export function ResizeDialog({ server, run, onClose }: Props) {
  const trpc = useTRPC();
  const flavors = useQuery(trpc.flavors.list.queryOptions({}));
  const choices = (flavors.data ?? []).filter((f) => f.id !== server.flavor.id);
  const [flavorId, setFlavorId] = useState('');
  const chosen = flavorId || choices[0]?.id || '';
  return (
    <ActionDialog title={`Resize ${server.name}`} confirmLabel="Resize" onClose={onClose} onConfirm={() => run('resize', { flavorId: chosen })} confirmDisabled={!chosen}>
      <p>
        Now {server.flavor.name}. The server waits in VERIFY_RESIZE until you confirm or revert; the disk never shrinks.
      </p>
      {flavors.error ? <p role="alert" className={ui.alert}>{describeApiError(flavors.error)}</p> : null}
      <Field label="Flavor">
        {(id) => (
          <select id={id} value={chosen} onChange={(e) => setFlavorId(e.target.value)}>
            {choices.map((f) => (
              <option key={f.id} value={f.id}>
                {f.name} ({flavorSize(f)})
              </option>
            ))}
          </select>
        )}
      </Field>
    </ActionDialog>
  );
}

export function RebuildDialog({ server, run, onClose }: Props) {
  const trpc = useTRPC();
  const images = useQuery(trpc.images.list.queryOptions({ status: 'active' }));
  const [imageId, setImageId] = useState('');
  const chosen = imageId || server.image.id;
  return (
    <ActionDialog title={`Rebuild ${server.name}?`} confirmLabel="Rebuild" danger onClose={onClose} onConfirm={() => run('rebuild', { imageId: chosen })}>
      <p>The root disk is replaced by a fresh one from the image: what is on it now is lost. Addresses and key stay.</p>
      {images.error ? <p role="alert" className={ui.alert}>{describeApiError(images.error)}</p> : null}
      <Field label="Image">
        {(id) => (
          <select id={id} value={chosen} onChange={(e) => setImageId(e.target.value)}>
            {(images.data ?? [{ id: server.image.id, name: server.image.name }]).map((i) => (
              <option key={i.id} value={i.id}>
                {i.name}
              </option>
            ))}
          </select>
        )}
      </Field>
    </ActionDialog>
  );
}

export function CreateImageDialog({ server, run, onClose }: Props) {
  const [name, setName] = useState(`${server.name}-snapshot`);
  return (
    <ActionDialog title={`Create an image of ${server.name}`} confirmLabel="Create image" onClose={onClose} onConfirm={() => run('createImage', { name: name.trim() })} confirmDisabled={!name.trim()}>
      <Field label="Image name">{(id) => <input id={id} value={name} onChange={(e) => setName(e.target.value)} required maxLength={255} />}</Field>
    </ActionDialog>
  );
}

/** Lock asks for an optional reason, shown to everyone who opens the server (Nova's locked_reason). */
export function LockDialog({ server, run, onClose }: Props) {
  const [reason, setReason] = useState('');
  const id = useId();
  const problem = lockReasonProblem(reason);
  return (
    <ActionDialog title={`Lock ${server.name}`} confirmLabel="Lock" onClose={onClose} onConfirm={() => run('lock', { reason })} confirmDisabled={problem !== null}>
      <p>Until it is unlocked, the server cannot be stopped, rebooted, changed or deleted by its project.</p>
      <FormField id={id} label="Reason" problem={problem} hint={`Optional, at most ${MAX_LOCK_REASON} characters.`}>
        <input id={id} value={reason} onChange={(e) => setReason(e.target.value)} aria-invalid={problem !== null} aria-describedby={describedBy(id, problem)} />
      </FormField>
    </ActionDialog>
  );
}
