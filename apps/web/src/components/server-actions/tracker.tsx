'use client';

import type { AppRouter } from '@aster/client';
import { type QueryClient, useQueryClient } from '@tanstack/react-query';
import type { TRPCClient } from '@trpc/client';
import type { inferRouterInputs } from '@trpc/server';
import { createContext, type ReactNode, useContext, useEffect, useState } from 'react';
import { type Toaster, useToast } from '@/components/toast';
import { describeApiError } from '@/lib/api-error';
import { type ServerWatch, useServerWatchStore, type WatchedServer } from '@/lib/server-watch';
import { newRequestId, useTRPC, useTRPCClient } from '@/lib/trpc';
import { lockInput } from '@/components/server-detail/lock';
import { type ActionInput, type ActionKind, PROGRESS, type TrackedKind } from './kinds';
import { ended, type Followed, judge, type Outcome, refused, step } from './outcome';

type Server = WatchedServer;
type TRPC = ReturnType<typeof useTRPC>;
export type LaunchInput = inferRouterInputs<AppRouter>['servers']['create'];

/** A toast of progress shared by the servers of one request ("Stopping 3 servers…"), dismissed when all are over. */
interface Group {
  progressToast: number;
  left: number;
}

interface Op extends Followed {
  id: string;
  name: string;
  requestId: string;
  group: Group;
  /** While the action log is read for the end; a newer view meanwhile is kept here and looked at after. */
  asking: boolean;
  latest: Server | undefined;
}

const newer = (a: Server | undefined, b: Server): Server => (!a || BigInt(b.changeSeq) >= BigInt(a.changeSeq) ? b : a);
const isServer = (value: unknown): value is Server => typeof value === 'object' && value !== null && 'changeSeq' in value;

/** The call that asks for `kind`, with the request id the API files the instance action under. */
function call(client: TRPCClient<AppRouter>, kind: ActionKind, id: string, input: ActionInput, requestId: string): Promise<unknown> {
  const opts = { context: { requestId } };
  switch (kind) {
    case 'rebootSoft':
    case 'rebootHard':
      return client.servers.reboot.mutate({ id, type: kind === 'rebootHard' ? 'HARD' : 'SOFT' }, opts);
    case 'resize':
      return client.servers.resize.mutate({ id, flavorId: input.flavorId ?? '' }, opts);
    case 'rebuild':
      return client.servers.rebuild.mutate({ id, imageId: input.imageId ?? '' }, opts);
    case 'createImage':
      return client.servers.createImage.mutate({ id, name: input.name ?? '' }, opts);
    case 'rescue':
      return client.servers.rescue.mutate({ id }, opts);
    case 'lock':
      return client.servers.lock.mutate(lockInput(id, input.reason), opts);
    default:
      return client.servers[kind].mutate({ id }, opts);
  }
}

/**
 * Follows server actions until the server shows how they ended, as lxd-ui's event queue follows operations:
 * the API's answer only says an action was accepted, so the toast that says it worked (or why it did not)
 * waits for servers.watch to show the server idle again, in the status the action leads to, deleted, or in
 * ERROR; the instance action filed under the call's request id says whether the host reported a failure.
 * One tracker serves the whole app, so an action keeps being followed when its page is left.
 */
class ActionTracker {
  private readonly ops = new Map<string, Op[]>();
  /** Calls sent and not yet answered (a launch's servers are known only from its answer). */
  private calling = 0;
  /** The newest view of each server seen while calls were out, for answers that arrive after the watch. */
  private readonly seen = new Map<string, Server>();
  private stopListening: (() => void) | null = null;

  constructor(
    private readonly watch: ServerWatch,
    private readonly client: TRPCClient<AppRouter>,
    private readonly trpc: TRPC,
    private readonly queryClient: QueryClient,
    private readonly toast: Toaster,
  ) {}

  /**
   * Asks for `kind` on each server; answers, per server, whether the API accepted it. The toasts follow: the
   * progress at once, a refusal at once, and each server's outcome when the watch shows it.
   */
  async run(kind: ActionKind, servers: readonly Pick<Server, 'id' | 'name' | 'changeSeq'>[], input: ActionInput = {}): Promise<boolean[]> {
    if (servers.length === 0) return [];
    const only = servers.length === 1 ? servers[0] : undefined;
    const group: Group = {
      progressToast: this.toast.show('info', only ? `${PROGRESS[kind]} ${only.name}…` : `${PROGRESS[kind]} ${servers.length} servers…`),
      left: servers.length,
    };
    const requestId = newRequestId();
    this.begin();
    try {
      const answers = await Promise.allSettled(servers.map((s) => call(this.client, kind, s.id, input, requestId)));
      // A delete frees quota once accepted (the launch form reads it).
      if (kind === 'delete') void this.queryClient.invalidateQueries({ queryKey: this.trpc.limits.pathKey() });
      return answers.map((answer, i) => {
        const server = servers[i]!;
        if (answer.status === 'rejected') {
          this.over(group, refused(kind, server.name, describeApiError(answer.reason)));
          return false;
        }
        // createImage answers with the image: the server's change number at the call is the line then.
        const view = isServer(answer.value) ? answer.value : undefined;
        this.follow({ id: server.id, name: server.name, kind, input, requestId, group }, view?.changeSeq ?? server.changeSeq, view);
        return true;
      });
    } finally {
      this.end();
    }
  }

  /**
   * Launches servers; answers them as the API does (in BUILD), or throws the API's refusal for the form to show.
   * Each new server's toast comes when it is ACTIVE, or in ERROR with the reason.
   */
  async launch(input: LaunchInput): Promise<Server[]> {
    const group: Group = { progressToast: this.toast.show('info', `${PROGRESS.create} ${input.name}…`), left: 1 };
    const requestId = newRequestId();
    this.begin();
    try {
      const created = await this.client.servers.create.mutate(input, { context: { requestId } });
      // The new servers count against the quota from now on (the launch form reads it).
      void this.queryClient.invalidateQueries({ queryKey: this.trpc.limits.pathKey() });
      group.left = created.length;
      for (const server of created) this.follow({ id: server.id, name: server.name, kind: 'create', input: {}, requestId, group }, server.changeSeq, server);
      if (created.length === 0) this.toast.dismiss(group.progressToast);
      return created;
    } catch (error) {
      this.toast.dismiss(group.progressToast);
      throw error;
    } finally {
      this.end();
    }
  }

  /** The watch stopped for good: what was followed can no longer be, and the toasts say so. */
  watchStopped(): void {
    for (const op of [...this.ops.values()].flat()) {
      this.drop(op);
      this.over(op.group, { ok: false, message: `${PROGRESS[op.kind]} ${op.name}: live updates stopped, so how it ends cannot be shown here. Reload the page to see.` });
    }
  }

  private begin(): void {
    this.calling += 1;
    this.listen();
  }

  private end(): void {
    this.calling -= 1;
    if (this.calling === 0) this.seen.clear();
    this.listenWhileNeeded();
  }

  private listen(): void {
    this.stopListening ??= this.watch.listen({ onData: (server) => this.onView(server), onStarted: () => this.readAgain() });
  }

  /** The watch (re)opened: what it did not bring meanwhile is read once, so no end goes unseen. */
  private readAgain(): void {
    for (const id of this.ops.keys()) {
      void this.queryClient.fetchQuery({ ...this.trpc.servers.get.queryOptions({ id }), staleTime: 0 }).then(
        (server) => this.watch.publish(server),
        () => undefined,
      );
    }
  }

  private listenWhileNeeded(): void {
    if (this.calling === 0 && this.ops.size === 0 && this.stopListening) {
      this.stopListening();
      this.stopListening = null;
    }
  }

  /** Follows one server from the API's answer: its view (when it answered with one) and its change number. */
  private follow(what: Pick<Op, 'id' | 'name' | 'kind' | 'input' | 'requestId' | 'group'>, since: string, view: Server | undefined): void {
    const op: Op = {
      ...what,
      since: BigInt(since),
      answeredWithView: view !== undefined,
      latest: undefined,
      asking: false,
    };
    this.ops.set(op.id, [...(this.ops.get(op.id) ?? []), op]);
    // The answer moves every view of the server forward at once (the row, the server's page).
    if (view) this.watch.publish(view);
    const seen = this.seen.get(op.id);
    if (view && !view.taskState && step(op, view, true) !== 'wait') this.look(op, view, true);
    else if (seen && BigInt(seen.changeSeq) > op.since) this.look(op, seen);
  }

  private onView(server: Server): void {
    if (this.calling > 0) this.seen.set(server.id, newer(this.seen.get(server.id), server));
    for (const op of this.ops.get(server.id) ?? []) this.look(op, server);
  }

  private look(op: Op, view: Server, isAnswer = false): void {
    if (op.asking) {
      op.latest = newer(op.latest, view);
      return;
    }
    const next = step(op, view, isAnswer);
    if (next === 'wait') return;
    if (next !== 'ask-log') return this.finish(op, next);
    // Over with the answer (lock, unlock, a confirmed resize): the server is where the action leaves it, or not.
    if (isAnswer) return this.finish(op, ended(op, view));
    op.asking = true;
    void this.queryClient
      .fetchQuery({ ...this.trpc.servers.actions.queryOptions({ id: op.id }), staleTime: 0 })
      .then(
        (log) => judge(op, view, log.find((a) => a.requestId === op.requestId)),
        // Without the log, the server's own state is all there is to go by.
        () => judge(op, view, undefined),
      )
      .then((outcome) => {
        op.asking = false;
        if (outcome !== 'wait') return this.finish(op, outcome);
        const later = op.latest;
        op.latest = undefined;
        if (later && BigInt(later.changeSeq) > BigInt(view.changeSeq)) this.look(op, later);
      });
  }

  private finish(op: Op, outcome: Outcome): void {
    if (!this.drop(op)) return;
    this.over(op.group, outcome);
    this.refresh(op);
  }

  private drop(op: Op): boolean {
    const left = this.ops.get(op.id)?.filter((o) => o !== op);
    if (!left || left.length === this.ops.get(op.id)?.length) return false;
    if (left.length) this.ops.set(op.id, left);
    else this.ops.delete(op.id);
    this.listenWhileNeeded();
    return true;
  }

  private over(group: Group, outcome: Outcome): void {
    this.toast.show(outcome.ok ? 'success' : 'error', outcome.message);
    group.left -= 1;
    if (group.left <= 0) this.toast.dismiss(group.progressToast);
  }

  /** What the action changed besides the server: its action log, the project's usage, the images. */
  private refresh(op: Op): void {
    void this.queryClient.invalidateQueries({ queryKey: this.trpc.servers.actions.queryKey({ id: op.id }) });
    if (['create', 'delete', 'resize', 'confirmResize', 'revertResize'].includes(op.kind)) {
      void this.queryClient.invalidateQueries({ queryKey: this.trpc.limits.pathKey() });
    }
    if (op.kind === 'createImage') void this.queryClient.invalidateQueries({ queryKey: this.trpc.images.pathKey() });
  }
}

export interface ServerActions {
  run: ActionTracker['run'];
  launch: ActionTracker['launch'];
}

const TrackerContext = createContext<ServerActions | null>(null);

/** The app's one action tracker; inside the toasts and the watch, which it uses. */
export function ServerActionsProvider({ children }: { children: ReactNode }) {
  const watch = useServerWatchStore();
  const client = useTRPCClient();
  const trpc = useTRPC();
  const queryClient = useQueryClient();
  const toast = useToast();
  const [tracker] = useState(() => new ActionTracker(watch, client, trpc, queryClient, toast));
  const [actions] = useState<ServerActions>(() => ({ run: tracker.run.bind(tracker), launch: tracker.launch.bind(tracker) }));
  useEffect(() => watch.subscribeError(() => (watch.getError() ? tracker.watchStopped() : undefined)), [watch, tracker]);
  return <TrackerContext.Provider value={actions}>{children}</TrackerContext.Provider>;
}

/** Runs server actions and launches, each followed to its end with a toast (see ActionTracker). */
export function useServerActions(): ServerActions {
  const actions = useContext(TrackerContext);
  if (!actions) throw new Error('useServerActions is used outside ServerActionsProvider');
  return actions;
}

export type { ActionInput, ActionKind, TrackedKind };
