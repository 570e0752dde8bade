import type { Pool, PoolClient } from 'pg';
import pg from 'pg';

/** How a channel's listening connection is opened: its own client, or one held from a pool. */
export type OpenListener = () => Promise<{ client: pg.Client | PoolClient; done(): void }>;

/** One LISTEN connection per inbox, shared by every watcher of it in the process. */
export interface NotificationChannel {
  /** Calls `listener` on every notification until the returned function is called. */
  watch(listener: () => void): () => void;
  /**
   * Tells every process's watchers, after a commit that made events due. Sent
   * apart from that commit and coalesced (one in flight, one more queued behind
   * it), since PostgreSQL serializes the commits of transactions that NOTIFY:
   * inside each enqueue it halved acceptance at 50 concurrent deliveries.
   */
  notify(): void;
  /** Stops listening and closes the connection. */
  close(): Promise<void>;
}

const RECONNECT_MS = 1_000;

/**
 * Opens a LISTEN connection to `channel` while someone watches it, and opens it
 * again (after a second) when it breaks: workers poll meanwhile, so a lost
 * notification delays an event by one poll at most, never loses it. Every
 * listener is woken on a (re)connection too, since notifications sent while
 * the connection was down are gone.
 */
export function createNotificationChannel(
  channel: string,
  open: OpenListener,
  sender: Pick<Pool, 'query'>,
): NotificationChannel {
  return new ListeningConnection(channel, open, sender);
}

type Held = { client: pg.Client | PoolClient; done(): void };

class ListeningConnection implements NotificationChannel {
  readonly #listeners = new Set<() => void>();
  #current: Held | undefined;
  #connecting: Promise<void> | undefined;
  #retry: ReturnType<typeof setTimeout> | undefined;
  #closed = false;
  #sending = false;
  #again = false;

  constructor(
    private readonly channel: string,
    private readonly open: OpenListener,
    private readonly sender: Pick<Pool, 'query'>,
  ) {}

  notify = (): void => {
    if (this.#closed) return;
    if (this.#sending) {
      this.#again = true;
      return;
    }
    this.#sending = true;
    // A lost notification costs a poll at most: a failure is not retried.
    this.sender
      .query('SELECT pg_notify($1, $2)', [this.channel, ''])
      .catch(() => undefined)
      .finally(() => {
        this.#sending = false;
        if (!this.#again) return;
        this.#again = false;
        this.notify();
      });
  };

  watch = (listener: () => void): (() => void) => {
    this.#listeners.add(listener);
    this.#connect();
    return () => {
      this.#listeners.delete(listener);
      if (this.#listeners.size === 0) this.#stop();
    };
  };

  close = async (): Promise<void> => {
    this.#closed = true;
    this.#listeners.clear();
    await this.#connecting;
    this.#stop();
  };

  #notify = (): void => {
    for (const listener of this.#listeners) listener();
  };

  #connect(): void {
    if (this.#closed || this.#current || this.#connecting || this.#listeners.size === 0) return;
    this.#connecting = this.#listen().finally(() => {
      this.#connecting = undefined;
    });
  }

  async #listen(): Promise<void> {
    try {
      const opened = await this.open();
      opened.client.on('notification', (message) => {
        if (message.channel === this.channel) this.#notify();
      });
      opened.client.on('error', this.#drop);
      opened.client.on('end', this.#drop);
      await opened.client.query(`LISTEN "${this.channel}"`);
      this.#current = opened;
      if (this.#closed || this.#listeners.size === 0) this.#stop();
      else this.#notify();
    } catch {
      this.#drop();
    }
  }

  /** The connection broke: let it go, and listen again in a second while anyone watches. */
  #drop = (): void => {
    this.#release();
    if (this.#closed || this.#listeners.size === 0 || this.#retry !== undefined) return;
    this.#retry = setTimeout(() => {
      this.#retry = undefined;
      this.#connect();
    }, RECONNECT_MS);
    this.#retry.unref?.();
  };

  #stop(): void {
    if (this.#retry !== undefined) clearTimeout(this.#retry);
    this.#retry = undefined;
    this.#release();
  }

  #release(): void {
    const held = this.#current;
    this.#current = undefined;
    held?.done();
  }
}

/** A listening connection of its own, for an inbox that opened its pools from a connection string. */
export function openOwnClient(connectionString: string, timeoutMs: number): OpenListener {
  return async () => {
    const client = new pg.Client({ connectionString, connectionTimeoutMillis: timeoutMs });
    client.on('error', () => undefined);
    await client.connect();
    return { client, done: () => void client.end().catch(() => undefined) };
  };
}

/** A listening connection held from the user's pool (given back, discarded, when done). */
export function openFromPool(pool: Pool): OpenListener {
  return async () => {
    const client = await pool.connect();
    client.on('error', () => undefined);
    // Discarded, not reused: it still listens.
    return { client, done: () => client.release(true) };
  };
}
