import type { Locator, Page } from '@playwright/test';

/**
 * The toasts' two live regions, always on the page (inside the open modal dialog while there is one): news,
 * announced politely, and failures, announced at once.
 */
export function notifications(page: Page): Locator {
  return page.getByRole('log', { name: 'Notifications' });
}

export function failures(page: Page): Locator {
  return page.getByRole('log', { name: 'Errors' });
}

/** The toast of news that says `text`. */
export function notification(page: Page, text: string): Locator {
  return notifications(page).getByText(text);
}

/** The toast of a failure that says `text`. */
export function failure(page: Page, text: string): Locator {
  return failures(page).getByText(text);
}

/**
 * Starts watching for a toast that says `text`; the answer tells what the server's status showed at the
 * moment the toast appeared (its row on Instances, or the badge of its own page), so a test can see that an
 * action's toast waits for the action's outcome.
 */
export async function statusWhenToasted(page: Page, text: string, server: { row: string } | 'page'): Promise<() => Promise<string | null>> {
  const key = `toast-${Math.random().toString(36).slice(2)}`;
  await page.evaluate(
    ({ key, text, row }) => {
      // The browser's DOM, typed here: the e2e project compiles without the DOM library.
      type Node = { textContent: string | null; querySelector(s: string): Node | null; querySelectorAll(s: string): Iterable<Node> };
      const doc = (globalThis as unknown as { document: Node & { body: unknown } }).document;
      const store = globalThis as unknown as Record<string, string | null | undefined>;
      const statusNow = (): string | null => {
        if (row === null) return doc.querySelector('[data-testid="server-status"]')?.textContent?.trim() ?? null;
        for (const tr of doc.querySelectorAll('tr')) {
          if (tr.querySelector('th[scope="row"]')?.textContent?.trim() === row) return tr.querySelector('[data-status]')?.textContent?.trim() ?? null;
        }
        return null;
      };
      const seen = () => [...doc.querySelectorAll('[role="log"] > *')].some((t) => t.textContent?.includes(text));
      const Observer = (globalThis as unknown as { MutationObserver: new (cb: () => void) => { observe(n: unknown, o: object): void; disconnect(): void } }).MutationObserver;
      const observer = new Observer(() => {
        if (!seen()) return;
        store[key] = statusNow();
        observer.disconnect();
      });
      observer.observe(doc.body, { subtree: true, childList: true, characterData: true });
    },
    { key, text, row: server === 'page' ? null : server.row },
  );
  return () => page.evaluate((key) => (globalThis as unknown as Record<string, string | null | undefined>)[key] ?? null, key);
}
