import { randomUUID } from 'node:crypto';
import type { IdempotencyStore } from '@c2p/core';
import { C2pError } from '@c2p/core';
import type { ClaimResult } from '@c2p/core/kit';
import { integerOption, invalidOption } from '@c2p/core/kit';
import { openRedisConnection, pkg, type RedisScript, redisScript } from './redis-connection.js';

/**
 * What the store needs of a node-redis client: any `createClient()` result
 * fits, whatever modules, scripts or RESP version it was built with.
 */
export interface RedisClientLike {
  readonly isOpen: boolean;
  readonly isReady: boolean;
  connect(): Promise<unknown>;
  sendCommand<T>(args: ReadonlyArray<string>): Promise<T>;
  once(event: 'ready', listener: () => void): unknown;
  off(event: 'ready', listener: () => void): unknown;
}

/** Options for {@link createRedisStore}. */
export interface RedisStoreOptions {
  /**
   * A URL (`redis://[:password@]host:6379[/db]`, `rediss://` for TLS) for a
   * client the store opens and closes, or a node-redis client of yours, which
   * `close()` leaves open (it is connected if it is not open yet). Give your own
   * client an `error` listener: node-redis throws its errors out of the process otherwise.
   */
  client: string | RedisClientLike;
  /** Prepended to every idempotency key. Defaults to `c2p:idem:`. */
  keyPrefix?: string;
  /**
   * How long an operation waits for a (re)connecting client before failing
   * with `STORE_UNAVAILABLE`, in ms. Defaults to `2000`.
   */
  readyTimeoutMs?: number;
}

/**
 * The Redis store: at-least-once with deduplication, no transactional form.
 * Core renews a claim's short lease while the handlers run, so a crashed
 * owner's key is free again within one lease.
 */
export interface RedisStore extends IdempotencyStore {
  /** Always a promise: the claim is a round trip to Redis. */
  claim(key: string, leaseMs: number): Promise<ClaimResult>;
  /** Extends the lease of `key` to `leaseMs` from now, if `token` still owns it (not completed, not expired). */
  renew(key: string, token: string, leaseMs: number): Promise<boolean>;
  /** Loads the three scripts into the server's cache. Idempotent and optional: a missing script is sent again. */
  migrate(): Promise<void>;
  /** Closes the client if the store opened it. */
  close(): Promise<void>;
}

/** The value of a completed key; tokens are UUIDs, so it cannot be mistaken for one. */
const COMPLETED = '!completed';

// Compare-the-token scripts: run atomically by the server, so a stale owner
// (whose lease expired and was claimed again) can neither complete nor release.
const completeScript = `if redis.call('GET', KEYS[1]) == ARGV[1] then
  redis.call('SET', KEYS[1], '${COMPLETED}', 'PX', ARGV[2])
  return 1
end
return 0`;
const releaseScript = `if redis.call('GET', KEYS[1]) == ARGV[1] then
  redis.call('DEL', KEYS[1])
  return 1
end
return 0`;
const renewScript = `if redis.call('GET', KEYS[1]) == ARGV[1] then
  redis.call('PEXPIRE', KEYS[1], ARGV[2])
  return 1
end
return 0`;

/**
 * A {@link RedisStore}, shared by any number of listener instances. A claim is
 * one `SET key token NX GET PX lease` (Redis 7.0 or later): it takes a free key
 * and, in the same command, reads a taken one's value (a token, or the
 * completed marker). Leases and retention are Redis expiries, so nothing needs sweeping.
 *
 * @example
 * ```ts
 * const store = createRedisStore({ client: process.env.REDIS_URL });
 * ```
 */
export function createRedisStore(options: RedisStoreOptions): RedisStore {
  const keyPrefix = options.keyPrefix ?? 'c2p:idem:';
  if (typeof keyPrefix !== 'string') {
    throw invalidOption('options.keyPrefix', 'must be a string', pkg);
  }
  const readyTimeoutMs = integerOption(options.readyTimeoutMs, 'options.readyTimeoutMs', {
    fallback: 2000,
    pkg,
  });
  const connection = openRedisConnection(options.client, readyTimeoutMs);
  const { send } = connection;
  const scripts = {
    complete: redisScript(completeScript),
    release: redisScript(releaseScript),
    renew: redisScript(renewScript),
  };
  const run = (script: RedisScript, key: string, args: string[]): Promise<number> =>
    connection.run<number>(script, [key], args);

  return {
    async claim(key, leaseMs): Promise<ClaimResult> {
      const token = randomUUID();
      const previous = await send<string | null>([
        'SET',
        keyPrefix + key,
        token,
        'NX',
        'GET',
        'PX',
        String(leaseMs),
      ]);
      if (previous === null) return { status: 'acquired', token };
      return previous === COMPLETED ? { status: 'completed' } : { status: 'in_progress' };
    },
    async complete(key, token, retainMs) {
      if (token === COMPLETED) return false;
      return (await run(scripts.complete, keyPrefix + key, [token, String(retainMs)])) === 1;
    },
    async release(key, token) {
      if (token === COMPLETED) return false;
      return (await run(scripts.release, keyPrefix + key, [token])) === 1;
    },
    async renew(key, token, leaseMs) {
      if (token === COMPLETED) return false;
      return (await run(scripts.renew, keyPrefix + key, [token, String(leaseMs)])) === 1;
    },
    async migrate() {
      for (const script of Object.values(scripts)) {
        const sha = await send<string>(['SCRIPT', 'LOAD', script.text]);
        if (sha !== script.sha) {
          throw new C2pError('STORE_UNAVAILABLE', {
            message: `[${pkg}] the server hashed a script unexpectedly`,
          });
        }
      }
    },
    close: () => connection.close(),
  };
}
