'use client';

import { type FormEvent, useId, useRef, useState } from 'react';
import ui from '@/components/ui/ui.module.css';
import type { ConsoleControls } from './types';
import styles from './console.module.css';

/** "Paste as keystrokes": types text into the guest key by key, for consoles without a shared clipboard. */
export function PasteDialog({ controls, disabled }: { controls: ConsoleControls | null; disabled: boolean }) {
  const dialog = useRef<HTMLDialogElement>(null);
  const [text, setText] = useState('');
  const [typing, setTyping] = useState(false);
  const titleId = useId();
  const fieldId = useId();

  const submit = async (event: FormEvent) => {
    event.preventDefault();
    if (!controls || !text) return;
    setTyping(true);
    try {
      await controls.typeText(text);
      setText('');
      dialog.current?.close();
    } finally {
      setTyping(false);
    }
  };

  return (
    <>
      <button type="button" className={ui.secondary} disabled={disabled} onClick={() => dialog.current?.showModal()}>
        Paste as keystrokes
      </button>
      <dialog ref={dialog} aria-labelledby={titleId} className={`${ui.card} ${styles.pasteDialog}`}>
        <form onSubmit={submit}>
          <h2 id={titleId}>Paste as keystrokes</h2>
          <label htmlFor={fieldId}>Text to type</label>
          <textarea
            id={fieldId}
            rows={6}
            value={text}
            onChange={(e) => setText(e.target.value)}
            spellCheck={false}
            autoComplete="off"
          />
          <p className={ui.muted}>Typed on a US keyboard layout; a newline presses Enter.</p>
          <div className={ui.buttons}>
            <button type="submit" disabled={typing || !controls || !text} aria-busy={typing}>
              Type it
            </button>
            <button type="button" className={ui.secondary} onClick={() => dialog.current?.close()}>
              Cancel
            </button>
          </div>
        </form>
      </dialog>
    </>
  );
}
