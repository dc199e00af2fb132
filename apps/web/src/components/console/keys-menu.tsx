'use client';

import { type KeyboardEvent, useEffect, useId, useRef, useState } from 'react';
import ui from '@/components/ui/ui.module.css';
import { KEY_COMBOS } from './keys';
import type { ConsoleControls } from './types';
import styles from './console.module.css';

type Held = { ControlLeft: boolean; AltLeft: boolean };
const NOTHING_HELD: Held = { ControlLeft: false, AltLeft: false };

/** "Send keys": key combinations the browser would keep for itself, and Ctrl and Alt held down. */
export function KeysMenu({ controls, disabled }: { controls: ConsoleControls | null; disabled: boolean }) {
  const [open, setOpen] = useState(false);
  // What is held, for the connection it was pressed on: a new connection starts with nothing held.
  const [pressed, setPressed] = useState<{ on: ConsoleControls | null; keys: Held }>({ on: controls, keys: NOTHING_HELD });
  const held = pressed.on === controls ? pressed.keys : NOTHING_HELD;
  const menuId = useId();
  const root = useRef<HTMLDivElement>(null);
  const button = useRef<HTMLButtonElement>(null);
  const menu = useRef<HTMLUListElement>(null);

  useEffect(() => {
    if (!open) return;
    menu.current?.querySelector<HTMLElement>('[role^="menuitem"]')?.focus();
    const outside = (event: PointerEvent) => {
      if (!root.current?.contains(event.target as Node)) setOpen(false);
    };
    document.addEventListener('pointerdown', outside);
    return () => document.removeEventListener('pointerdown', outside);
  }, [open]);

  const close = () => {
    setOpen(false);
    button.current?.focus();
  };

  const onMenuKey = (event: KeyboardEvent<HTMLUListElement>) => {
    const items = [...(menu.current?.querySelectorAll<HTMLElement>('[role^="menuitem"]') ?? [])];
    const at = items.indexOf(document.activeElement as HTMLElement);
    const move = (to: number) => items[(to + items.length) % items.length]?.focus();
    if (event.key === 'ArrowDown') move(at + 1);
    else if (event.key === 'ArrowUp') move(at - 1);
    else if (event.key === 'Home') move(0);
    else if (event.key === 'End') move(items.length - 1);
    else if (event.key === 'Escape') close();
    else if (event.key === 'Tab') setOpen(false);
    else return;
    if (event.key !== 'Tab') event.preventDefault();
  };

  const toggle = (key: keyof Held) => {
    const down = !held[key];
    controls?.holdKey(key, down);
    setPressed({ on: controls, keys: { ...held, [key]: down } });
  };

  return (
    <div className={styles.keysMenu} ref={root}>
      <button
        ref={button}
        type="button"
        className={ui.secondary}
        aria-haspopup="menu"
        aria-expanded={open}
        aria-controls={open ? menuId : undefined}
        disabled={disabled}
        onClick={() => setOpen((o) => !o)}
      >
        Send keys
      </button>
      {open ? (
        <ul id={menuId} ref={menu} role="menu" aria-label="Send keys" className={styles.menu} onKeyDown={onMenuKey}>
          {KEY_COMBOS.map((combo) => (
            <li role="none" key={combo.label}>
              <button
                type="button"
                role="menuitem"
                tabIndex={-1}
                onClick={() => {
                  controls?.sendCombo(combo.keys);
                  close();
                }}
              >
                {combo.label}
              </button>
            </li>
          ))}
          <li role="separator" />
          {(
            [
              ['ControlLeft', 'Hold Ctrl'],
              ['AltLeft', 'Hold Alt'],
            ] as const
          ).map(([key, label]) => (
            <li role="none" key={key}>
              <button type="button" role="menuitemcheckbox" aria-checked={held[key]} tabIndex={-1} onClick={() => toggle(key)}>
                {label}
              </button>
            </li>
          ))}
        </ul>
      ) : null}
    </div>
  );
}
