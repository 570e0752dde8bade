import type { Pool, PoolClient } from 'pg';
import pg from 'pg';

/** How a channel's listening connection is opened: its own client, or one held from a pool. */
export type OpenListener = () => Promise<{ client: pg.Client | PoolClient; done(): void }>;

/** One LISTEN connection per inbox, shared by every watcher of it in the process. */
export interface NotificationChannel {
  /** Calls `listener` on every notification until the returned function is called. */
  watch(listener: () => void): () => void;
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
): NotificationChannel {
  const listeners = new Set<() => void>();
  let current: { client: pg.Client | PoolClient; done(): void } | undefined;
  let connecting: Promise<void> | undefined;
  let retry: ReturnType<typeof setTimeout> | undefined;
  let closed = false;
  const notify = (): void => {
    for (const listener of listeners) listener();
  };
  const drop = (): void => {
    const held = current;
    current = undefined;
    held?.done();
    if (!closed && listeners.size > 0 && retry === undefined) {
      retry = setTimeout(() => {
        retry = undefined;
        connect();
      }, RECONNECT_MS);
      retry.unref?.();
    }
  };
  const connect = (): void => {
    if (closed || current || connecting || listeners.size === 0) return;
    connecting = (async () => {
      try {
        const opened = await open();
        opened.client.on('notification', (message) => {
          if (message.channel === channel) notify();
        });
        opened.client.on('error', drop);
        opened.client.on('end', drop);
        await opened.client.query(`LISTEN "${channel}"`);
        current = opened;
        if (closed || listeners.size === 0) stop();
        else notify();
      } catch {
        drop();
      } finally {
        connecting = undefined;
      }
    })();
  };
  const stop = (): void => {
    if (retry !== undefined) clearTimeout(retry);
    retry = undefined;
    const held = current;
    current = undefined;
    held?.done();
  };
  return {
    watch(listener) {
      listeners.add(listener);
      connect();
      return () => {
        listeners.delete(listener);
        if (listeners.size === 0) stop();
      };
    },
    async close() {
      closed = true;
      listeners.clear();
      await connecting;
      stop();
    },
  };
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
