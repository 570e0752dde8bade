import { createHash } from 'node:crypto';
import { C2pError } from '@c2p/core';
import { invalidOption, storeClosed, storeUnavailable } from '@c2p/core/kit';
import { createClient } from 'redis';
import type { RedisClientLike } from './redis-store.js';

/** The package named in this package's messages. */
export const pkg = '@c2p/store-redis';

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

type OwnedClient = ReturnType<typeof createClient>;

/** Checks `source`, and opens a client of the connection's own for a URL. */
function clientFor(
  source: string | RedisClientLike,
  readyTimeoutMs: number,
): { readonly client: RedisClientLike; readonly owned: OwnedClient | undefined } {
  if (typeof source === 'string') {
    if (!/^rediss?:\/\//.test(source)) {
      throw invalidOption('options.client', 'a URL must start with redis:// or rediss://', pkg);
    }
    const owned = createClient({
      url: source,
      // Fail at once while disconnected rather than queueing until the server returns.
      disableOfflineQueue: true,
      socket: {
        connectTimeout: readyTimeoutMs,
        reconnectStrategy: (retries: number) => Math.min(50 * 2 ** retries, 1000),
      },
    });
    // Connection errors surface as STORE_UNAVAILABLE on the operations.
    owned.on('error', () => undefined);
    return { client: owned as unknown as RedisClientLike, owned };
  }
  if (typeof source !== 'object' || source === null || typeof source.sendCommand !== 'function') {
    throw invalidOption('options.client', 'must be a redis:// URL or a node-redis client', pkg);
  }
  return { client: source, owned: undefined };
}

/**
 * A {@link RedisConnection} on one node-redis client. Arrow-function fields, so
 * `const { send } = connection` works.
 */
class ClientConnection implements RedisConnection {
  private count = 0;
  private connecting: Promise<unknown> | undefined;
  /** One shared wait for the client's next "ready", however many operations queue on it. */
  private waiting: Promise<void> | undefined;
  private closed = false;

  constructor(
    private readonly client: RedisClientLike,
    private readonly owned: OwnedClient | undefined,
    private readonly readyTimeoutMs: number,
  ) {
    client.once('ready', this.onReadyCount);
    this.connect();
  }

  get readyCount(): number {
    return this.count;
  }

  /**
   * Counts "ready" events (a reconnect may reach another server, or one restarted
   * with other settings). `once`, re-armed each time: the one listener method
   * RedisClientLike asks of a client besides `off`.
   */
  private readonly onReadyCount = (): void => {
    this.count++;
    this.client.once('ready', this.onReadyCount);
  };

  private connect(): void {
    if (this.client.isOpen || this.connecting) return;
    this.connecting = this.client
      .connect()
      .catch(() => undefined)
      .finally(() => {
        this.connecting = undefined;
      });
  }

  private waitReady(): Promise<void> {
    const { client, readyTimeoutMs } = this;
    return new Promise<void>((resolve, reject) => {
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
  }

  private async ready(): Promise<void> {
    if (this.closed) throw storeClosed(pkg);
    if (this.client.isReady) return;
    this.connect();
    this.waiting ??= this.waitReady().finally(() => {
      this.waiting = undefined;
    });
    await this.waiting;
  }

  send = async <T>(args: string[]): Promise<T> => {
    try {
      await this.ready();
      return await this.client.sendCommand<T>(args);
    } catch (cause) {
      throw storeUnavailable(cause);
    }
  };

  run = async <T>(script: RedisScript, keys: string[], args: string[]): Promise<T> => {
    const rest = [String(keys.length), ...keys, ...args];
    try {
      return await this.send<T>(['EVALSHA', script.sha, ...rest]);
    } catch (error) {
      const cause = error instanceof C2pError ? error.cause : error;
      if (!(cause instanceof Error) || !cause.message.startsWith('NOSCRIPT')) throw error;
      // The server restarted or flushed its script cache: send the script itself.
      return this.send<T>(['EVAL', script.text, ...rest]);
    }
  };

  close = async (): Promise<void> => {
    if (this.closed) return;
    this.closed = true;
    this.client.off('ready', this.onReadyCount);
    const { owned } = this;
    if (!owned) return;
    if (owned.isReady) await owned.close().catch(() => owned.destroy());
    else if (owned.isOpen) owned.destroy();
  };
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
  const { client, owned } = clientFor(source, readyTimeoutMs);
  return new ClientConnection(client, owned, readyTimeoutMs);
}
