import type { Metadata } from 'next';
import type { ReactNode } from 'react';
import { THEME_KEY } from '@/components/shell/theme-key';
import './globals.css';

export const metadata: Metadata = {
  title: { default: 'Aster', template: '%s · Aster' },
  description: 'Aster compute cloud',
};

// Runs before the first paint, so a dark theme never flashes light: the pick stored in this browser, else the system's.
const themeScript = `try{var t=localStorage.getItem('${THEME_KEY}');if(t!=='light'&&t!=='dark')t=matchMedia('(prefers-color-scheme: dark)').matches?'dark':'light';document.documentElement.dataset.theme=t}catch(e){}`;

export default function RootLayout({ children }: { children: ReactNode }) {
  return (
    <html lang="en" suppressHydrationWarning>
      <head>
        <script dangerouslySetInnerHTML={{ __html: themeScript }} />
      </head>
      <body>{children}</body>
    </html>
  );
}
