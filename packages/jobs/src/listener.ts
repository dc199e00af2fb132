import { setTimeout as sleep } from 'node:timers/promises';
import type { Logger } from '@aster/log';
import pg from 'pg';

/**
 * A LISTEN connection that comes back by itself: when it drops, it reconnects (every second until it can),
 * listens again on every channel, and calls `onReconnect` so that its owner re-reads whatever it may have
 * missed while deaf.
 */
export class NotificationListener {
  private client: pg.Client | null = null;
  private readonly channels = new Set<string>();
  private listening: Promise<void> = Promise.resolve();
  private closed = false;

  constructor(
    private readonly o: {
      connectionString: string;
      applicationName: string;
      log: Logger;
      /** What it serves, for the log line when the connection drops. */
      what: string;
      onNotification: (channel: string, payload: string | undefined) => void;
      onReconnect?: () => void;
    },
  ) {}

  async start(channels: string[] = []): Promise<void> {
    for (const c of channels) this.channels.add(c);
    await this.connect();
  }

  /** Listens on one more channel (a plain identifier); at once if connected, else at the next connect. */
  async listen(channel: string): Promise<void> {
    if (this.channels.has(channel)) return;
    this.channels.add(channel);
    // One after another: a connection runs one query at a time, and hundreds of queues may start together.
    const client = this.client;
    const next = this.listening.then(() => client?.query(`LISTEN ${channel}`));
    this.listening = next.then(
      () => undefined,
      () => undefined,
    );
    await next;
  }

  private async connect(): Promise<void> {
    const client = new pg.Client({ connectionString: this.o.connectionString, application_name: this.o.applicationName });
    client.on('notification', (n) => this.o.onNotification(n.channel, n.payload));
    client.on('error', (error) => {
      if (this.closed) return;
      this.o.log.warn(`${this.o.what} connection lost; reconnecting`, { error });
      this.client = null;
      void client.end().catch(() => {});
      void this.reconnect();
    });
    await client.connect();
    if (this.channels.size) await client.query([...this.channels].map((c) => `LISTEN ${c};`).join(' '));
    this.client = client;
  }

  private async reconnect(): Promise<void> {
    while (!this.closed && !this.client) {
      try {
        await this.connect();
        this.o.onReconnect?.();
      } catch {
        await sleep(1000);
      }
    }
  }

  async stop(): Promise<void> {
    this.closed = true;
    await this.client?.end().catch(() => {});
  }
}
