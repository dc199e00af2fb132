'use client';

import { useMutation, useQueryClient } from '@tanstack/react-query';
import { useId, useState, type ChangeEvent, type FormEvent } from 'react';
import { useToast } from '@/components/toast';
import { useTRPC } from '@/lib/trpc';
import { Dialog } from '@/components/ui/dialog';
import { ErrorAlert } from '@/components/ui/query-state';
import { Field, FormButtons } from '@/components/ui/form';
import ui from '@/components/ui/ui.module.css';
import { errorText } from '../format';

/** "Import key pair": a public key pasted or read from a file (only the public half ever leaves the machine). */
export function ImportKeypairDialog({ open, onClose }: { open: boolean; onClose: () => void }) {
  const trpc = useTRPC();
  const queryClient = useQueryClient();
  const toast = useToast();
  const [name, setName] = useState('');
  const [publicKey, setPublicKey] = useState('');
  const [fileError, setFileError] = useState<string | null>(null);
  const ids = { name: useId(), key: useId(), file: useId(), hint: useId() };
  const importKey = useMutation(
    trpc.keypairs.import.mutationOptions({
      onSuccess: (key) => {
        toast.show('success', `Key pair ${key.name} imported`);
        void queryClient.invalidateQueries({ queryKey: trpc.keypairs.pathKey() });
        void queryClient.invalidateQueries({ queryKey: trpc.limits.pathKey() });
        close();
      },
      onError: (error) => toast.show('error', `Could not import key pair ${name}: ${error.message}`),
    }),
  );

  function close() {
    setName('');
    setPublicKey('');
    setFileError(null);
    importKey.reset();
    onClose();
  }

  const readFile = async (event: ChangeEvent<HTMLInputElement>) => {
    const file = event.target.files?.[0];
    setFileError(null);
    if (!file) return;
    try {
      const text = (await file.text()).trim();
      setPublicKey(text);
      // The comment of an OpenSSH line, or the file's name, makes a reasonable default name.
      if (!name) setName(text.split(/\s+/)[2]?.replace(/[^A-Za-z0-9_.@-]/g, '-') ?? file.name.replace(/\.pub$/, ''));
    } catch (error) {
      setFileError(`Could not read ${file.name}: ${errorText(error)}`);
    }
  };

  const submit = (event: FormEvent) => {
    event.preventDefault();
    importKey.mutate({ name: name.trim(), publicKey: publicKey.trim() });
  };

  return (
    <Dialog open={open} title="Import key pair" onClose={close}>
      <form className={ui.form} onSubmit={submit}>
        <Field id={ids.name} label="Name">
          <input id={ids.name} required maxLength={255} value={name} onChange={(e) => setName(e.target.value)} />
        </Field>
        <Field id={ids.key} label="Public key">
          <textarea
            id={ids.key}
            rows={5}
            required
            spellCheck={false}
            placeholder="ssh-ed25519 AAAA… you@host"
            aria-describedby={ids.hint}
            value={publicKey}
            onChange={(e) => setPublicKey(e.target.value)}
          />
          <span id={ids.hint} className={ui.muted}>
            One OpenSSH public key line (ssh-ed25519, ssh-rsa, ecdsa-sha2-…), as in ~/.ssh/id_ed25519.pub.
          </span>
        </Field>
        <Field id={ids.file} label="Public key file">
          <input id={ids.file} type="file" accept=".pub,text/plain" onChange={readFile} />
        </Field>
        <ErrorAlert error={fileError ?? importKey.error} />
        <FormButtons label="Import" pending={importKey.isPending} disabled={!name.trim() || !publicKey.trim()} onCancel={close} />
      </form>
    </Dialog>
  );
}
