'use client';

import type { AppRouter } from '@aster/client';
import type { TRPCClient } from '@trpc/client';
import type { inferRouterOutputs } from '@trpc/server';
import { createContext, type ReactNode, useContext, useEffect, useEffectEvent, useState, useSyncExternalStore } from 'react';
import { onUnauthorized, useTRPCClient } from './trpc';

export type WatchedServer = inferRouterOutputs<AppRouter>['servers']['get'];

export interface WatchListener {
  /** A newer view of one of the caller's servers (or an older one, replayed: compare `changeSeq`). */
  onData(server: WatchedServer): void;
  /**
   * The watch is open: changes from now on arrive through onData. Also called at once for a listener that
   * joins an open watch. What was read before this moment may be stale, so a listener reads it again here.
   */
  onStarted?(): void;
}

// A page left for another keeps the watch open this long, so the next page's listener finds it open.
const LINGER_MS = 5_000;

/**
 * The one servers.watch subscription of the app: open while a page listens (Instances, a server's page, All
 * instances, Quotas) or an action is followed to its end, closed a little after the last listener leaves. A
 * mutation's answer is passed to the listeners as well (`publish`), so every view of a server moves forward
 * by change number, whichever way it came.
 */
export class ServerWatch {
  private readonly listeners = new Set<WatchListener>();
  private subscription: { unsubscribe(): void } | null = null;
  private open = false;
  private lingering: ReturnType<typeof setTimeout> | null = null;
  private error: Error | null = null;
  private readonly errorListeners = new Set<() => void>();

  constructor(private readonly client: TRPCClient<AppRouter>) {}

  listen(listener: WatchListener): () => void {
    this.listeners.add(listener);
    if (this.lingering) clearTimeout(this.lingering);
    this.lingering = null;
    if (this.open) listener.onStarted?.();
    else this.subscribe();
    return () => {
      this.listeners.delete(listener);
      if (this.listeners.size === 0) this.lingering = setTimeout(() => this.unsubscribe(), LINGER_MS);
    };
  }

  /** A view of a server learnt another way (a mutation's answer), handed to the listeners like a watched one. */
  publish(server: WatchedServer): void {
    for (const listener of [...this.listeners]) listener.onData(server);
  }

  /** Why the watch stopped for good (a refused session, an API that is gone), until it is opened again. */
  readonly subscribeError = (onChange: () => void): (() => void) => {
    this.errorListeners.add(onChange);
    return () => this.errorListeners.delete(onChange);
  };
  readonly getError = (): Error | null => this.error;

  private setError(error: Error | null): void {
    this.error = error;
    for (const onChange of [...this.errorListeners]) onChange();
  }

  private subscribe(): void {
    if (this.subscription) return;
    if (this.error) this.setError(null);
    this.subscription = this.client.servers.watch.subscribe(undefined, {
      onStarted: () => {
        this.open = true;
        for (const listener of [...this.listeners]) listener.onStarted?.();
      },
      onData: (event) => this.publish(event.data),
      // The link reconnects by itself after a lost connection (resuming after the last change seen); an
      // error here is one it will not retry.
      onError: (error) => {
        this.subscription = null;
        this.open = false;
        this.setError(error);
        onUnauthorized(error);
      },
    });
  }

  /** Closes the subscription now (the app's shell is going away); a listener that comes later opens it again. */
  close(): void {
    if (this.lingering) clearTimeout(this.lingering);
    this.unsubscribe();
  }

  private unsubscribe(): void {
    this.lingering = null;
    this.subscription?.unsubscribe();
    this.subscription = null;
    this.open = false;
  }
}

const WatchContext = createContext<ServerWatch | null>(null);

export function ServerWatchProvider({ children }: { children: ReactNode }) {
  const client = useTRPCClient();
  const [watch] = useState(() => new ServerWatch(client));
  useEffect(() => () => watch.close(), [watch]);
  return <WatchContext.Provider value={watch}>{children}</WatchContext.Provider>;
}

export function useServerWatchStore(): ServerWatch {
  const watch = useContext(WatchContext);
  if (!watch) throw new Error('useServerWatch is used outside ServerWatchProvider');
  return watch;
}

/**
 * Listens to servers.watch while the calling component is mounted; the handlers may change at every render.
 * Answers why live updates stopped, if they did.
 */
export function useServerWatch(handlers: WatchListener): { error: Error | null } {
  const watch = useServerWatchStore();
  const onData = useEffectEvent((server: WatchedServer) => handlers.onData(server));
  const onStarted = useEffectEvent(() => handlers.onStarted?.());
  useEffect(() => watch.listen({ onData: (server) => onData(server), onStarted: () => onStarted() }), [watch]);
  const error = useSyncExternalStore(watch.subscribeError, watch.getError, () => null);
  return { error };
}
