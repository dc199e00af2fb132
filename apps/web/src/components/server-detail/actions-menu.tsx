'use client';

import { type KeyboardEvent, useEffect, useId, useRef, useState } from 'react';
import { type ActionKind, type Actor, whyDisabled } from './action-kinds';
import styles from './server-detail.module.css';
import type { Server } from './types';

interface Item {
  kind: ActionKind;
  label: string;
}

function items(server: Server): Item[] {
  return [
    { kind: 'start', label: 'Start' },
    { kind: 'stop', label: 'Stop…' },
    { kind: 'rebootSoft', label: 'Reboot' },
    { kind: 'rebootHard', label: 'Hard reboot…' },
    { kind: 'pause', label: 'Pause' },
    { kind: 'unpause', label: 'Unpause' },
    { kind: 'suspend', label: 'Suspend' },
    { kind: 'resume', label: 'Resume' },
    server.locked ? { kind: 'unlock', label: 'Unlock' } : { kind: 'lock', label: 'Lock…' },
    { kind: 'resize', label: 'Resize…' },
    { kind: 'rebuild', label: 'Rebuild…' },
    { kind: 'createImage', label: 'Create image…' },
    server.status === 'RESCUE' ? { kind: 'unrescue', label: 'Unrescue' } : { kind: 'rescue', label: 'Rescue' },
    { kind: 'delete', label: 'Delete…' },
  ];
}

/** The "Actions" button and its menu; an item that cannot run now is disabled with the reason as its tooltip. */
export function ActionsMenu({ server, actor, onPick }: { server: Server; actor: Actor; onPick: (kind: ActionKind) => void }) {
  const [open, setOpen] = useState(false);
  const menuId = useId();
  const button = useRef<HTMLButtonElement>(null);
  const menu = useRef<HTMLDivElement>(null);

  const enabled = () => Array.from(menu.current?.querySelectorAll<HTMLButtonElement>('[role=menuitem]:not(:disabled)') ?? []);

  useEffect(() => {
    if (!open) return;
    enabled()[0]?.focus();
    const outside = (e: PointerEvent) => {
      if (!menu.current?.contains(e.target as Node) && !button.current?.contains(e.target as Node)) setOpen(false);
    };
    document.addEventListener('pointerdown', outside);
    return () => document.removeEventListener('pointerdown', outside);
  }, [open]);

  const close = () => {
    setOpen(false);
    button.current?.focus();
  };

  const onKeyDown = (e: KeyboardEvent) => {
    const all = enabled();
    const at = all.indexOf(document.activeElement as HTMLButtonElement);
    const move = (to: number) => all[(to + all.length) % all.length]?.focus();
    if (e.key === 'Escape') close();
    else if (e.key === 'ArrowDown') move(at + 1);
    else if (e.key === 'ArrowUp') move(at - 1);
    else if (e.key === 'Home') move(0);
    else if (e.key === 'End') move(all.length - 1);
    else if (e.key === 'Tab') setOpen(false);
    else return;
    e.preventDefault();
  };

  return (
    <div className={styles.menuWrap}>
      <button
        ref={button}
        type="button"
        aria-haspopup="menu"
        aria-expanded={open}
        aria-controls={open ? menuId : undefined}
        onClick={() => setOpen((o) => !o)}
      >
        Actions <span aria-hidden="true">▾</span>
      </button>
      {open ? (
        <div ref={menu} id={menuId} role="menu" aria-label={`Actions for ${server.name}`} className={styles.menu}>
          {items(server).map((item) => {
            const why = whyDisabled(item.kind, server, actor);
            return (
              <button
                key={item.kind}
                type="button"
                role="menuitem"
                tabIndex={-1}
                disabled={why !== null}
                title={why ?? undefined}
                className={item.kind === 'delete' ? styles.dangerItem : undefined}
                onKeyDown={onKeyDown}
                onClick={() => {
                  close();
                  onPick(item.kind);
                }}
              >
                {item.label}
              </button>
            );
          })}
        </div>
      ) : null}
    </div>
  );
}
