'use client';

import { errorCode } from '@aster/client';
import { useMutation, useQueryClient } from '@tanstack/react-query';
import { useId, useRef, useState, type FormEvent } from 'react';
import { useToast } from '@/components/toast';
import { useTRPC } from '@/lib/trpc';
import { useWhoami } from '@/lib/whoami';
import { Dialog } from '@/components/ui/dialog';
import { Field } from '@/components/ui/form';
import ui from '@/components/ui/ui.module.css';
import { errorText } from '../format';
import styles from '../resources.module.css';
import { UploadAborted, uploadImageFile, type UploadProgress } from './upload';
import { UploadProgressBar } from './upload-progress';

type Phase =
  | { kind: 'form' }
  | { kind: 'uploading'; imageId: string; progress: UploadProgress }
  | { kind: 'done'; progress: UploadProgress }
  | { kind: 'failed'; message: string };

/** "Upload image": registers a queued image, then streams the file to it with a progress bar. */
export function UploadDialog({ open, onClose }: { open: boolean; onClose: () => void }) {
  const trpc = useTRPC();
  const queryClient = useQueryClient();
  const toast = useToast();
  const whoami = useWhoami();
  const create = useMutation(trpc.images.create.mutationOptions());
  const remove = useMutation(trpc.images.delete.mutationOptions());
  const [phase, setPhase] = useState<Phase>({ kind: 'form' });
  const [name, setName] = useState('');
  const [diskFormat, setDiskFormat] = useState<'qcow2' | 'raw' | 'iso'>('qcow2');
  const [visibility, setVisibility] = useState<'private' | 'shared' | 'public'>('private');
  const [file, setFile] = useState<File | null>(null);
  const abort = useRef<(() => void) | null>(null);
  // The image a failed upload of this dialog left killed: a retry deletes it before it creates the next one,
  // so retrying never piles up killed images (an image takes its data once).
  const killed = useRef<{ id: string; name: string } | null>(null);
  const ids = { name: useId(), format: useId(), visibility: useId(), file: useId() };
  const refresh = () => queryClient.invalidateQueries({ queryKey: trpc.images.pathKey() });

  const close = () => {
    if (phase.kind === 'uploading') return; // cancel first, so nothing is left half sent
    setPhase({ kind: 'form' });
    setFile(null);
    setName('');
    killed.current = null;
    onClose();
  };

  const submit = async (event: FormEvent) => {
    event.preventDefault();
    if (!file) return;
    const left = killed.current;
    if (left) {
      try {
        await remove.mutateAsync({ id: left.id });
      } catch (e) {
        if (errorCode(e) !== 'NOT_FOUND') {
          setPhase({ kind: 'failed', message: `Could not delete image ${left.name} that the last try left killed: ${errorText(e)}` });
          return;
        }
      }
      killed.current = null;
      void refresh();
    }
    let imageId: string;
    try {
      imageId = (await create.mutateAsync({ name: name.trim(), diskFormat, visibility })).id;
    } catch (e) {
      setPhase({ kind: 'failed', message: errorText(e) });
      toast.show('error', `Could not create image ${name}: ${errorText(e)}`);
      return;
    }
    void refresh();
    setPhase({ kind: 'uploading', imageId, progress: { loaded: 0, total: file.size, rate: 0 } });
    let last: UploadProgress = { loaded: 0, total: file.size, rate: 0 };
    const upload = uploadImageFile(imageId, file, (progress) => {
      last = progress;
      setPhase({ kind: 'uploading', imageId, progress });
    });
    abort.current = upload.abort;
    try {
      await upload.done;
      toast.show('success', `Image ${name} uploaded`);
      setPhase({ kind: 'done', progress: { ...last, loaded: last.total } });
    } catch (e) {
      if (e instanceof UploadAborted) {
        const outcome = await remove.mutateAsync({ id: imageId }).then(
          () => `Upload of ${name} cancelled; the queued image was deleted`,
          (error: unknown) => `Upload of ${name} cancelled, but the queued image could not be deleted: ${errorText(error)}`,
        );
        setPhase({ kind: 'failed', message: outcome });
        toast.show('info', outcome);
      } else {
        // The image stays, killed with this fault, so the list shows what happened: until it is deleted there, or
        // replaced by the next try.
        killed.current = { id: imageId, name };
        setPhase({ kind: 'failed', message: `${errorText(e)}. Image ${name} is left in the list as killed; Upload again replaces it, or delete it there.` });
        toast.show('error', `Upload of ${name} failed: ${errorText(e)}`);
      }
    } finally {
      abort.current = null;
      void refresh();
    }
  };

  const uploading = phase.kind === 'uploading';
  const locked = uploading || phase.kind === 'done';
  return (
    <Dialog open={open} title="Upload image" onClose={close} locked={uploading}>
      <form className={ui.form} onSubmit={submit}>
        <Field id={ids.name} label="Name">
          <input id={ids.name} required maxLength={255} value={name} disabled={locked} onChange={(e) => setName(e.target.value)} />
        </Field>
        <div className={styles.row}>
          <Field id={ids.format} label="Disk format">
            <select id={ids.format} value={diskFormat} disabled={locked} onChange={(e) => setDiskFormat(e.target.value as typeof diskFormat)}>
              <option value="qcow2">qcow2</option>
              <option value="raw">raw</option>
              <option value="iso">iso</option>
            </select>
          </Field>
          <Field id={ids.visibility} label="Visibility">
            <select id={ids.visibility} value={visibility} disabled={locked} onChange={(e) => setVisibility(e.target.value as typeof visibility)}>
              <option value="private">private</option>
              <option value="shared">shared</option>
              <option value="public" disabled={!whoami.isAdmin}>
                public{whoami.isAdmin ? '' : ' (administrators only)'}
              </option>
            </select>
          </Field>
        </div>
        <Field id={ids.file} label="Image file">
          <input id={ids.file} type="file" required disabled={locked} onChange={(e) => setFile(e.target.files?.[0] ?? null)} />
        </Field>
        {phase.kind === 'uploading' || phase.kind === 'done' ? <UploadProgressBar progress={phase.progress} label={`Uploading ${name}`} /> : null}
        {phase.kind === 'done' ? <p role="status">Uploaded: image {name} is ready.</p> : null}
        {phase.kind === 'failed' ? (
          <p role="alert" className={ui.alert}>
            {phase.message}
          </p>
        ) : null}
        <div className={ui.buttons}>
          {phase.kind === 'done' ? (
            <button type="button" onClick={close}>
              Close
            </button>
          ) : uploading ? (
            <button type="button" className={ui.danger} onClick={() => abort.current?.()}>
              Cancel upload
            </button>
          ) : (
            <>
              <button type="submit" disabled={!file || !name.trim() || create.isPending} aria-busy={create.isPending}>
                Upload
              </button>
              <button type="button" className={ui.secondary} onClick={close}>
                Cancel
              </button>
            </>
          )}
        </div>
      </form>
    </Dialog>
  );
}
