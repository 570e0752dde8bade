import type { RateGate, RateGateOptions } from '@c2p/core';
import { integerOption, invalidOption, rateGateIntervalUs } from '@c2p/core/kit';
import { openRedisConnection, pkg, redisScript } from './redis-connection.js';
import type { RedisClientLike } from './redis-store.js';

/** Options for {@link createRedisRateGate}. */
export interface RedisRateGateOptions extends RateGateOptions {
  /** A `redis://` URL for a client the gate opens and closes, or a node-redis client of yours, left open by `close()`. */
  client: string | RedisClientLike;
  /** The gate's key: every process using the same key shares one limit. Defaults to `c2p:rate:handlers`. */
  key?: string;
  /** How long a reservation waits for a (re)connecting client before failing with `STORE_UNAVAILABLE`, in ms. Defaults to `2000`. */
  readyTimeoutMs?: number;
}

/** The rate gate on Redis; `close()` closes the client if the gate opened it. */
export interface RedisRateGate extends RateGate {
  close(): Promise<void>;
}

// GCRA on the server's clock, in whole microseconds (exact in a Lua double up to
// 2^53): the next start is the later of the stored time and now; the key then
// holds the one after it, and expires once it is in the past, so nothing is kept
// for an idle gate. The answer is the wait, in microseconds.
const reserveScript = `local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000000 + tonumber(t[2])
local interval = tonumber(ARGV[1])
local slot = tonumber(redis.call('GET', KEYS[1]) or '0')
if slot < now then slot = now end
local nextAt = slot + interval
redis.call('SET', KEYS[1], string.format('%.0f', nextAt), 'PX', math.ceil((nextAt - now) / 1000) + 1)
return slot - now`;

/**
 * A {@link RateGate} shared by every process using one Redis key: one Lua
 * script per reservation, on the server's clock, so the processes' clocks
 * need not agree.
 *
 * @example
 * ```ts
 * const gate = createRedisRateGate({ client: process.env.REDIS_URL, perSecond: 5 });
 * const worker = startInboxWorker({ inbox, handlers, rate: { gate } });
 * ```
 */
export function createRedisRateGate(options: RedisRateGateOptions): RedisRateGate {
  const intervalUs = rateGateIntervalUs(options, pkg);
  const key = options.key ?? 'c2p:rate:handlers';
  if (typeof key !== 'string' || key === '')
    throw invalidOption('options.key', 'must be a non-empty string', pkg);
  const readyTimeoutMs = integerOption(options.readyTimeoutMs, 'options.readyTimeoutMs', {
    fallback: 2000,
    pkg,
  });
  const connection = openRedisConnection(options.client, readyTimeoutMs);
  const script = redisScript(reserveScript);
  return {
    async reserve() {
      const waitUs = await connection.run<number>(script, [key], [String(intervalUs)]);
      return Number(waitUs) / 1000;
    },
    close: () => connection.close(),
  };
}
