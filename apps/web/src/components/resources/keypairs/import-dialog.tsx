'use client';

import { useMutation, useQueryClient } from '@tanstack/react-query';
import { useId, useState, type ChangeEvent, type FormEvent } from 'react';
import { useToast } from '@/components/toast';
import { useTRPC } from '@/lib/trpc';
import { errorText } from '../format';
import { Modal } from '../modal';
import styles from '../resources.module.css';

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
    <Modal open={open} title="Import key pair" onClose={close}>
      <form className={styles.form} onSubmit={submit}>
        <div className={styles.field}>
          <label htmlFor={ids.name}>Name</label>
          <input id={ids.name} required maxLength={255} value={name} onChange={(e) => setName(e.target.value)} />
        </div>
        <div className={styles.field}>
          <label htmlFor={ids.key}>Public key</label>
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
          <span id={ids.hint} className="muted">
            One OpenSSH public key line (ssh-ed25519, ssh-rsa, ecdsa-sha2-…), as in ~/.ssh/id_ed25519.pub.
          </span>
        </div>
        <div className={styles.field}>
          <label htmlFor={ids.file}>Public key file</label>
          <input id={ids.file} type="file" accept=".pub,text/plain" onChange={readFile} />
        </div>
        {fileError || importKey.error ? (
          <p role="alert" className="alert">
            {fileError ?? importKey.error?.message}
          </p>
        ) : null}
        <div className="dialog-buttons">
          <button type="submit" disabled={importKey.isPending || !name.trim() || !publicKey.trim()} aria-busy={importKey.isPending}>
            Import
          </button>
          <button type="button" className="secondary" onClick={close}>
            Cancel
          </button>
        </div>
      </form>
    </Modal>
  );
}
