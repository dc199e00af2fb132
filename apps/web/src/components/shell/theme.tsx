'use client';

import { useSyncExternalStore } from 'react';
import ui from '@/components/ui/ui.module.css';
import { THEME_KEY } from './theme-key';

type Theme = 'light' | 'dark';

// The theme lives on <html data-theme> (set before the first paint by the root layout's script).
const onThemeChange = (changed: () => void) => {
  const observer = new MutationObserver(changed);
  observer.observe(document.documentElement, { attributes: true, attributeFilter: ['data-theme'] });
  return () => observer.disconnect();
};
const currentTheme = (): Theme => (document.documentElement.dataset.theme === 'dark' ? 'dark' : 'light');

/** Light or dark, kept in this browser; the first visit follows the system. */
export function ThemeToggle() {
  // Unknown while the server renders: the browser's pick is read once the page runs.
  const theme = useSyncExternalStore<Theme | null>(onThemeChange, currentTheme, () => null);
  const next: Theme = theme === 'dark' ? 'light' : 'dark';
  return (
    <button
      type="button"
      className={ui.secondary}
      aria-pressed={theme === 'dark'}
      onClick={() => {
        document.documentElement.dataset.theme = next;
        localStorage.setItem(THEME_KEY, next);
      }}
    >
      Dark theme
    </button>
  );
}
