'use client';

import { createContext, useCallback, useContext, useEffect, useMemo, useRef, useState, useSyncExternalStore, type ReactNode } from 'react';
import { createPortal } from 'react-dom';
import ui from '@/components/ui/ui.module.css';
import styles from './toast.module.css';

export type ToastKind = 'success' | 'error' | 'info';
interface Toast {
  id: number;
  kind: ToastKind;
  text: string;
}

export interface Toaster {
  /** Shows a message for a few seconds (errors stay until dismissed: they carry the reason); answers its id. */
  show(kind: ToastKind, text: string): number;
  /** Takes a message away before its time (a progress message whose outcome has come). */
  dismiss(id: number): void;
}

const ToastContext = createContext<Toaster>({ show: () => 0, dismiss: () => {} });

export function useToast(): Toaster {
  return useContext(ToastContext);
}

const SHOWN_MS = 6000;

const noChange = () => () => {};

/** The box the toasts are drawn in: a popover in the top layer, so nothing on the page covers it. */
function makeBox(): HTMLDivElement {
  const element = document.createElement('div');
  element.className = styles.toasts ?? '';
  element.setAttribute('popover', 'manual');
  return element;
}

/**
 * Keeps the toasts' box where the user can see and reach it: in the top layer as a popover, and inside the
 * topmost open modal dialog while there is one. A modal dialog makes the rest of the page inert (unseen by screen
 * readers, not clickable) and its backdrop covers it; a popover shown after the dialog is above the backdrop, and
 * one inside the dialog is not inert. The box moves back to <body> when the dialog closes or goes away.
 */
function useToastHost(): HTMLDivElement | null {
  const [box] = useState(() => (typeof document === 'undefined' ? null : makeBox()));
  // Drawn after hydration only: the server has no box to draw into.
  const hydrated = useSyncExternalStore(noChange, () => true, () => false);
  useEffect(() => {
    if (!box) return;
    // Dialogs in the order they opened; the last one still modal hosts the box.
    let opened: HTMLDialogElement[] = [];
    const modal = (d: Element): d is HTMLDialogElement => d instanceof HTMLDialogElement && d.isConnected && d.matches(':modal');
    const place = () => {
      opened = opened.filter(modal);
      for (const d of document.querySelectorAll('dialog')) if (modal(d) && !opened.includes(d)) opened.push(d);
      const host = opened[opened.length - 1] ?? document.body;
      if (box.parentElement !== host) host.append(box);
      // Moving a popover hides it; showing it again also puts it above whatever opened since.
      if (typeof box.showPopover === 'function' && !box.matches(':popover-open')) box.showPopover();
    };
    place();
    const observer = new MutationObserver((records) => {
      // Rows changing in a table say nothing about dialogs; a dialog opening, closing or leaving the page does.
      const moved = !box.isConnected || (box.parentElement !== document.body && !box.parentElement?.matches(':modal'));
      if (moved || records.some((r) => r.type === 'attributes') || !opened.every((d) => d.isConnected)) place();
    });
    observer.observe(document.body, { subtree: true, childList: true, attributes: true, attributeFilter: ['open'] });
    return () => {
      observer.disconnect();
      box.remove();
    };
  }, [box]);
  return hydrated ? box : null;
}

function ToastItem({ toast, onDismiss }: { toast: Toast; onDismiss: (id: number) => void }) {
  return (
    <div className={`${styles.toast} ${styles[toast.kind]}`}>
      <span>{toast.text}</span>
      <button type="button" className={ui.link} aria-label="Dismiss" onClick={() => onDismiss(toast.id)}>
        ×
      </button>
    </div>
  );
}

/**
 * The outcome of every action. Two live regions that are always on the page, so screen readers hear what is
 * added to them: news politely, failures assertively (role log: messages arrive in order and old ones go).
 */
export function ToastProvider({ children }: { children: ReactNode }) {
  const [toasts, setToasts] = useState<Toast[]>([]);
  const nextId = useRef(1);
  const timers = useRef(new Map<number, ReturnType<typeof setTimeout>>());
  const box = useToastHost();
  const dismiss = useCallback((id: number) => {
    clearTimeout(timers.current.get(id));
    timers.current.delete(id);
    setToasts((all) => all.filter((t) => t.id !== id));
  }, []);
  const show = useCallback(
    (kind: ToastKind, text: string) => {
      const id = nextId.current++;
      setToasts((all) => [...all.slice(-4), { id, kind, text }]);
      if (kind !== 'error') timers.current.set(id, setTimeout(() => dismiss(id), SHOWN_MS));
      return id;
    },
    [dismiss],
  );
  useEffect(() => {
    const pending = timers.current;
    return () => pending.forEach(clearTimeout);
  }, []);
  const value = useMemo(() => ({ show, dismiss }), [show, dismiss]);
  const errors = toasts.filter((t) => t.kind === 'error');
  const news = toasts.filter((t) => t.kind !== 'error');
  return (
    <ToastContext.Provider value={value}>
      {children}
      {box
        ? createPortal(
            <>
              <div role="log" aria-live="polite" aria-label="Notifications">
                {news.map((t) => (
                  <ToastItem key={t.id} toast={t} onDismiss={dismiss} />
                ))}
              </div>
              <div role="log" aria-live="assertive" aria-label="Errors">
                {errors.map((t) => (
                  <ToastItem key={t.id} toast={t} onDismiss={dismiss} />
                ))}
              </div>
            </>,
            box,
          )
        : null}
    </ToastContext.Provider>
  );
}
