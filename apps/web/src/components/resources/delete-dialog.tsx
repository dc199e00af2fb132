'use client';

import { type QueryKey, useQueryClient } from '@tanstack/react-query';
import type { ReactNode } from 'react';
import { useToast } from '@/components/toast';
import { ConfirmDialog } from '@/components/ui/confirm-dialog';
import ui from '@/components/ui/ui.module.css';
import { errorText } from './format';
import { GatedButton } from './gated-button';

/**
 * "Delete <noun> <name>": asks, deletes, toasts the outcome and refreshes the lists whatever it was.
 * `children` finishes the sentence "<Noun> <name> …" that says what goes with it.
 */
export function DeleteDialog<T extends { name: string }>({
  item,
  noun,
  remove,
  refresh,
  onClose,
  children,
}: {
  item: T | null;
  noun: string;
  remove: (item: T) => Promise<unknown>;
  refresh: QueryKey[];
  onClose: () => void;
  children: ReactNode;
}) {
  const toast = useToast();
  const queryClient = useQueryClient();
  const Noun = noun.charAt(0).toUpperCase() + noun.slice(1);
  const run = async (target: T) => {
    try {
      await remove(target);
      toast.show('success', `${Noun} ${target.name} deleted`);
    } catch (error) {
      toast.show('error', `Could not delete ${noun} ${target.name}: ${errorText(error)}`);
      throw error;
    } finally {
      for (const queryKey of refresh) void queryClient.invalidateQueries({ queryKey });
    }
  };
  return (
    <ConfirmDialog
      open={item !== null}
      title={`Delete ${noun} ${item?.name ?? ''}`}
      confirmLabel={`Delete ${noun}`}
      onConfirm={() => (item ? run(item) : Promise.resolve())}
      onClose={onClose}
    >
      <p>
        {Noun} <strong>{item?.name}</strong> {children}
      </p>
    </ConfirmDialog>
  );
}

/** A row's "Delete" button, named after the row, that opens the DeleteDialog. */
export function DeleteButton({ name, blocked, onClick }: { name: string; blocked: string | null; onClick: () => void }) {
  return (
    <GatedButton blocked={blocked} className={ui.danger} aria-label={`Delete ${name}`} onClick={onClick}>
      Delete
    </GatedButton>
  );
}
