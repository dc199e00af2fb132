'use client';

import { useEffect, useState } from 'react';
import ui from '@/components/ui/ui.module.css';
import { THEME_KEY } from './theme-key';

type Theme = 'light' | 'dark';

/** Light or dark, kept in this browser; the first visit follows the system. */
export function ThemeToggle() {
  const [theme, setTheme] = useState<Theme | null>(null);
  useEffect(() => setTheme(document.documentElement.dataset.theme === 'dark' ? 'dark' : 'light'), []);
  const next: Theme = theme === 'dark' ? 'light' : 'dark';
  return (
    <button
      type="button"
      className={ui.secondary}
      aria-pressed={theme === 'dark'}
      onClick={() => {
        document.documentElement.dataset.theme = next;
        localStorage.setItem(THEME_KEY, next);
        setTheme(next);
      }}
    >
      Dark theme
    </button>
  );
}
