import { createHash } from 'node:crypto';
import { C2pError } from '@c2p/core';
import { invalidOption, storeClosed, storeUnavailable } from '@c2p/core/kit';
import { createClient } from 'redis';
import type { RedisClientLike } from './redis-store.js';

const pkg = '@c2p/store-redis';

/** A Lua script with its SHA-1, run by `EVALSHA` and sent again on `NOSCRIPT`. */
export interface RedisScript {
  readonly text: string;
  readonly sha: string;
}

/** Builds a {@link RedisScript}. */
export function redisScript(text: string): RedisScript {
  return { text, sha: createHash('sha1').update(text).digest('hex') };
}

/** One connection to Redis: every failure, and use after `close()`, throws `STORE_UNAVAILABLE`. */
export interface RedisConnection {
  send<T>(args: string[]): Promise<T>;
  /** Runs `script` with `keys` as `KEYS` and `args` as `ARGV`. */
  run<T>(script: RedisScript, keys: string[], args: string[]): Promise<T>;
  /** How many times the client has become ready: a change means it (re)connected. */
  readonly readyCount: number;
  /** Closes the client if the connection opened it. */
  close(): Promise<void>;
}

/**
 * Opens (or adopts) a node-redis client for a store or inbox: a URL opens a client of
 * its own that fails fast while disconnected and reconnects by itself; a client
 * passed in is connected if needed and left open by `close()`.
 */
export function openRedisConnection(
  source: string | RedisClientLike,
  readyTimeoutMs: number,
): RedisConnection {
  const owned = typeof source === 'string';
  if (owned && !/^rediss?:\/\//.test(source)) {
    throw invalidOption('options.client', 'a URL must start with redis:// or rediss://', pkg);
  }
  if (
    !owned &&
    (typeof source !== 'object' || source === null || typeof source.sendCommand !== 'function')
  ) {
    throw invalidOption('options.client', 'must be a redis:// URL or a node-redis client', pkg);
  }
  let ownedClient: ReturnType<typeof createClient> | undefined;
  let client: RedisClientLike;
  if (owned) {
    ownedClient = createClient({
      url: source,
      // Fail at once while disconnected rather than queueing until the server returns.
      disableOfflineQueue: true,
      socket: {
        connectTimeout: readyTimeoutMs,
        reconnectStrategy: (retries: number) => Math.min(50 * 2 ** retries, 1000),
      },
    });
    // Connection errors surface as STORE_UNAVAILABLE on the operations.
    ownedClient.on('error', () => undefined);
    client = ownedClient as unknown as RedisClientLike;
  } else {
    client = source;
  }
  // Counts "ready" events (a reconnect may reach another server, or one restarted
  // with other settings). `once`, re-armed each time: the one listener method
  // RedisClientLike asks of a client besides `off`.
  let readyCount = 0;
  const onReadyCount = (): void => {
    readyCount++;
    client.once('ready', onReadyCount);
  };
  client.once('ready', onReadyCount);
  let connecting: Promise<unknown> | undefined;
  const connect = (): void => {
    if (client.isOpen || connecting) return;
    connecting = client
      .connect()
      .catch(() => undefined)
      .finally(() => {
        connecting = undefined;
      });
  };
  connect();
  let closed = false;

  // One shared wait for the client's next "ready", however many operations queue on it.
  let waiting: Promise<void> | undefined;
  const waitReady = (): Promise<void> =>
    new Promise<void>((resolve, reject) => {
      const onReady = (): void => {
        clearTimeout(timer);
        resolve();
      };
      const timer = setTimeout(() => {
        client.off('ready', onReady);
        if (client.isReady) resolve();
        else reject(new Error(`Redis not ready within ${readyTimeoutMs} ms`));
      }, readyTimeoutMs);
      client.once('ready', onReady);
    });
  const ready = async (): Promise<void> => {
    if (closed) throw storeClosed(pkg);
    if (client.isReady) return;
    connect();
    waiting ??= waitReady().finally(() => {
      waiting = undefined;
    });
    await waiting;
  };

  const send = async <T>(args: string[]): Promise<T> => {
    try {
      await ready();
      return await client.sendCommand<T>(args);
    } catch (cause) {
      throw storeUnavailable(cause);
    }
  };

  return {
    send,
    get readyCount() {
      return readyCount;
    },
    async run<T>(script: RedisScript, keys: string[], args: string[]): Promise<T> {
      const rest = [String(keys.length), ...keys, ...args];
      try {
        return await send<T>(['EVALSHA', script.sha, ...rest]);
      } catch (error) {
        const cause = error instanceof C2pError ? error.cause : error;
        if (!(cause instanceof Error) || !cause.message.startsWith('NOSCRIPT')) throw error;
        // The server restarted or flushed its script cache: send the script itself.
        return send<T>(['EVAL', script.text, ...rest]);
      }
    },
    async close() {
      if (closed) return;
      closed = true;
      client.off('ready', onReadyCount);
      if (!ownedClient) return;
      if (ownedClient.isReady) await ownedClient.close().catch(() => ownedClient?.destroy());
      else if (ownedClient.isOpen) ownedClient.destroy();
    },
  };
}
