import { randomUUID } from 'node:crypto';
import type { InboxEntry, InboxLease, InboxRecord, InboxState, InboxStore } from '@c2p/core';
import { C2pError } from '@c2p/core';
import { integerOption, invalidOption } from '@c2p/core/kit';
import { openRedisConnection } from './redis-connection.js';
import { inboxScripts } from './redis-inbox-scripts.js';
import type { RedisClientLike } from './redis-store.js';

const pkg = '@c2p/store-redis';
const day = 24 * 60 * 60 * 1000;

/** Options for {@link createRedisInbox}. */
export interface RedisInboxOptions {
  /**
   * A URL (`redis://[:password@]host:6379[/db]`, `rediss://` for TLS) for a
   * client the inbox opens and closes, or a node-redis client of yours, which
   * `close()` leaves open. Give your own client an `error` listener.
   */
  client: string | RedisClientLike;
  /** Prepended to every key the inbox writes. Defaults to `c2p:inbox:`. */
  keyPrefix?: string;
  /** How long processed events are kept (and their keys deduplicated), in ms. Defaults to 30 days. */
  retainMs?: number;
  /** How many processed events one `sweep()` deletes at most. Defaults to `1000`. */
  sweepBatch?: number;
  /**
   * `'verify'`: read the server's persistence settings (`CONFIG GET`) and refuse
   * `enqueue` (`STORE_UNAVAILABLE`, so deliveries are answered 503 and retried,
   * never 2xx) unless they make an acknowledged write survive a Redis crash:
   * `appendonly yes`, `appendfsync always`, `maxmemory-policy noeviction`, or
   * when they cannot be read. `'trust'`: skip the check (a managed server that
   * forbids `CONFIG`, whose settings you have checked yourself; or tests).
   * Defaults to `'verify'`.
   */
  durability?: 'verify' | 'trust';
  /**
   * With `durability: 'verify'`, how long a passed check is trusted before
   * `enqueue` reads the settings again, in ms (an operator may `CONFIG SET` them
   * while the inbox runs); a reconnect checks again at once. Defaults to `10000`.
   */
  durabilityCheckMs?: number;
  /**
   * How long an operation waits for a (re)connecting client before failing
   * with `STORE_UNAVAILABLE`, in ms. Defaults to `2000`.
   */
  readyTimeoutMs?: number;
  /**
   * The clock, in milliseconds, for tests. Defaults to the Redis server's clock
   * (`TIME`, read inside each script), so workers on machines with skewed
   * clocks agree on leases.
   */
  now?: () => number;
}

/** The Redis inbox: at-least-once handlers with permanent deduplication; no transactional form. */
export interface RedisInbox extends InboxStore {
  /**
   * Reads the server's persistence settings and throws `STORE_UNAVAILABLE`
   * naming what is missing unless a 2xx would survive a Redis crash. The inbox
   * runs it before its first `enqueue` (with `durability: 'verify'`), and again
   * every `durabilityCheckMs` and after a reconnect; call it at start-up to
   * fail early. It cannot see what a replica promoted by a failover has received.
   */
  verifyDurability(): Promise<void>;
  sweep(): Promise<number>;
  /** Closes the client if the inbox opened it. */
  close(): Promise<void>;
}

/** Ids are the `INCR` counter's values; anything else names no event. */
const isId = (id: unknown): id is string => typeof id === 'string' && /^[0-9]{1,15}$/.test(id);

const orNull = (value: string | undefined): number | null =>
  value === undefined ? null : Number(value);

function toEntry(flat: readonly string[]): InboxEntry {
  const f: Record<string, string> = {};
  for (let i = 0; i + 1 < flat.length; i += 2) f[flat[i] as string] = flat[i + 1] as string;
  const state = f.state as InboxState;
  return {
    id: f.id as string,
    key: f.key as string,
    resourceKey: f.resourceKey as string,
    eventType: f.eventType as string,
    payload: f.payload as string,
    receivedAt: Number(f.receivedAt),
    clientIp: f.clientIp ?? null,
    state,
    attempts: Number(f.attempts),
    nextAttemptAt: state === 'pending' || state === 'retrying' ? orNull(f.nextAttemptAt) : null,
    lastError: f.lastError ?? null,
    processedAt: orNull(f.processedAt),
  };
}

/** The settings an acknowledged write needs to survive a crash of the Redis server. */
const durableSettings = {
  appendonly: 'yes',
  appendfsync: 'always',
  'maxmemory-policy': 'noeviction',
} as const;

/**
 * A {@link RedisInbox} on Redis 7+, shared by any number of listener and
 * worker processes. Every operation is one Lua script, so each state change is
 * atomic and written to the AOF as one unit: `enqueue` stores a delivery's
 * events, their deduplication keys and their place in their resource's queue
 * together, or nothing.
 *
 * @example
 * ```ts
 * const inbox = createRedisInbox({ client: process.env.REDIS_URL });
 * await inbox.verifyDurability(); // appendonly yes, appendfsync always, noeviction
 * ```
 */
export function createRedisInbox(options: RedisInboxOptions): RedisInbox {
  const keyPrefix = options.keyPrefix ?? 'c2p:inbox:';
  if (typeof keyPrefix !== 'string' || keyPrefix.length === 0) {
    throw invalidOption('options.keyPrefix', 'must be a non-empty string', pkg);
  }
  const retainMs = integerOption(options.retainMs, 'options.retainMs', { fallback: 30 * day, pkg });
  const sweepBatch = integerOption(options.sweepBatch, 'options.sweepBatch', {
    fallback: 1000,
    pkg,
  });
  const readyTimeoutMs = integerOption(options.readyTimeoutMs, 'options.readyTimeoutMs', {
    fallback: 2000,
    pkg,
  });
  const durability = options.durability ?? 'verify';
  if (durability !== 'verify' && durability !== 'trust') {
    throw invalidOption('options.durability', `must be 'verify' or 'trust'`, pkg);
  }
  const durabilityCheckMs = integerOption(options.durabilityCheckMs, 'options.durabilityCheckMs', {
    min: 0,
    fallback: 10_000,
    pkg,
  });
  if (options.now !== undefined && typeof options.now !== 'function') {
    throw invalidOption('options.now', 'must be a function answering milliseconds', pkg);
  }
  const clock = options.now;
  const connection = openRedisConnection(options.client, readyTimeoutMs);

  const run = <T>(name: keyof typeof inboxScripts, args: Array<string | number>): Promise<T> =>
    connection.run<T>(
      inboxScripts[name],
      [],
      [keyPrefix, clock ? String(clock()) : '', ...args.map(String)],
    );

  const verifyDurability = async (): Promise<void> => {
    const found: Record<string, string> = {};
    try {
      for (const name of Object.keys(durableSettings)) {
        const [, value] = await connection.send<string[]>(['CONFIG', 'GET', name]);
        if (value !== undefined) found[name] = value;
      }
    } catch (error) {
      const cause = error instanceof C2pError ? error.cause : error;
      // Unreachable or closed: say so. A reply error: CONFIG is renamed or forbidden.
      if (!(cause instanceof Error) || !/^(ERR|NOPERM)/.test(cause.message)) throw error;
      throw new C2pError('STORE_UNAVAILABLE', {
        cause,
        message: `[${pkg}] cannot read the Redis server's persistence settings (CONFIG GET failed), so a 2xx might not survive a Redis crash: pass durability: 'trust' once you have checked appendonly yes, appendfsync always and maxmemory-policy noeviction yourself`,
      });
    }
    const wrong = Object.entries(durableSettings)
      .filter(([name, wanted]) => found[name] !== wanted)
      .map(([name, wanted]) => `${name} is ${found[name] ?? 'unknown'}, needs ${wanted}`);
    if (wrong.length > 0) {
      throw new C2pError('STORE_UNAVAILABLE', {
        message: `[${pkg}] the Redis server would lose acknowledged deliveries in a crash (${wrong.join('; ')}): the inbox refuses to accept deliveries until this is fixed, or pass durability: 'trust'`,
      });
    }
  };
  // Checked at start, again before each enqueue until it passes (an operator
  // may fix the settings with CONFIG SET while the listener runs), and again
  // once a passed check is durabilityCheckMs old or the client reconnected
  // (settings may be weakened at run time too, or the server may be another).
  let check:
    | { readonly done: Promise<void>; readonly at: number; readonly readyCount: number }
    | undefined;
  const checkDurability = (): Promise<void> => {
    const at = Date.now();
    if (
      !check ||
      at - check.at >= durabilityCheckMs ||
      check.readyCount !== connection.readyCount
    ) {
      const done = verifyDurability();
      check = { done, at, readyCount: connection.readyCount };
      done.catch(() => {
        if (check?.done === done) check = undefined;
      });
    }
    return check.done;
  };
  if (durability === 'verify') checkDurability().catch(() => undefined);

  return {
    async enqueue(records: readonly InboxRecord[]): Promise<boolean[]> {
      if (records.length === 0) return [];
      if (durability === 'verify') await checkDurability();
      const args: Array<string | number> = [];
      for (const r of records) {
        args.push(
          r.key,
          r.resourceKey,
          r.eventType,
          r.payload,
          r.receivedAt,
          r.clientIp === null ? '-' : `+${r.clientIp}`,
        );
      }
      const answers = await run<number[]>('enqueue', args);
      return answers.map((inserted) => inserted === 1);
    },
    async lease(limit, leaseMs): Promise<InboxLease[]> {
      const leased = await run<Array<[string, string[]]>>('lease', [limit, leaseMs, randomUUID()]);
      return leased
        .map(([token, flat]) => ({ token, entry: toEntry(flat) }))
        .sort((a, b) => Number(a.entry.id) - Number(b.entry.id));
    },
    async renew(id, token, leaseMs) {
      return isId(id) && (await run<number>('renew', [id, token, leaseMs])) === 1;
    },
    async complete(id, token) {
      return isId(id) && (await run<number>('complete', [id, token])) === 1;
    },
    async fail(id, token, failure) {
      return (
        isId(id) &&
        (await run<number>('fail', [
          id,
          token,
          failure.retryAt === null ? '' : Math.round(failure.retryAt),
          failure.error.slice(0, 2000),
        ])) === 1
      );
    },
    async list({ state, limit = 50 }) {
      if (!Number.isSafeInteger(limit) || limit < 1) return [];
      const rows = await run<string[][]>('list', [state, limit]);
      return rows.map(toEntry);
    },
    async get(id) {
      if (!isId(id)) return undefined;
      const flat = await connection.send<string[]>(['HGETALL', `${keyPrefix}e:${id}`]);
      return flat.length === 0 ? undefined : toEntry(flat);
    },
    async counts() {
      const [pending = 0, retrying = 0, dead = 0, processed = 0] = await run<number[]>(
        'counts',
        [],
      );
      return { pending, retrying, dead, processed };
    },
    async replay(id) {
      return isId(id) && (await run<number>('replay', [id])) === 1;
    },
    async retryNow(id) {
      return isId(id) && (await run<number>('retryNow', [id])) === 1;
    },
    async sweep() {
      return run<number>('sweep', [retainMs, sweepBatch]);
    },
    verifyDurability,
    close: () => connection.close(),
  };
}
