import { randomUUID } from 'node:crypto';
import type {
  InboxEntry,
  InboxFilter,
  InboxHistoryItem,
  InboxPage,
  InboxReplayOptions,
  InboxSearch,
  InboxState,
  InboxStore,
} from '@c2p/core';
import { C2pError, inboxStates } from '@c2p/core';
import type {
  InboxAttempt,
  InboxFailure,
  InboxLease,
  InboxQuery,
  InboxRecord,
} from '@c2p/core/kit';
import {
  checkInboxSearch,
  countInboxStates,
  type InboxRow,
  inboxCursor,
  inboxDefaults,
  inboxDurability,
  inboxRetention,
  integerOption,
  invalidOption,
  replayableInboxFilter,
  toInboxEntry,
} from '@c2p/core/kit';
import { openRedisConnection, pkg, type RedisConnection } from './redis-connection.js';
import { inboxScripts } from './redis-inbox-scripts.js';
import type { RedisClientLike } from './redis-store.js';

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
   * @deprecated Unused: every `enqueue` reads the settings in the same round
   * trip as its write, so nothing is trusted for a while. Still checked (a
   * non-negative integer) so that existing options keep their meaning.
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
   * Newest first, from the smallest sorted set the filter names (its resource,
   * event type or state, else every event), read a bounded step at a time.
   */
  search(query: InboxSearch): Promise<InboxPage>;
  /** The event's newest 50 attempts and operator actions, oldest first (a capped list). */
  history(id: string): Promise<InboxHistoryItem[]>;
  resolve(id: string, note: string): Promise<boolean>;
  /** Each matching event is replayed by one script, so concurrent calls replay it once. */
  replayMatching(filter: InboxFilter, options?: InboxReplayOptions): Promise<number>;
  /** A key, read by the lease script: every worker of the inbox, in every process, stops. */
  setPaused(paused: boolean): Promise<void>;
  isPaused(): Promise<boolean>;
  /**
   * Reads the server's persistence settings and throws `STORE_UNAVAILABLE`
   * naming what is missing unless a 2xx would survive a Redis crash. With
   * `durability: 'verify'` every `enqueue` reads them in the same round trip as
   * its write; call this at start-up to fail early. It cannot see what a replica
   * promoted by a failover has received.
   */
  verifyDurability(): Promise<void>;
  sweep(): Promise<number>;
  /** Closes the client if the inbox opened it. */
  close(): Promise<void>;
}

/** Ids are the `INCR` counter's values; anything else names no event. */
const isId = (id: unknown): id is string => typeof id === 'string' && /^[0-9]{1,15}$/.test(id);

/** The entry of an event's hash, as `HGETALL` answers it: field, value, field, value, ... */
function toEntry(flat: readonly string[]): InboxEntry {
  const fields: Record<string, string> = {};
  for (let at = 0; at + 1 < flat.length; at += 2) {
    fields[flat[at] as string] = flat[at + 1] as string;
  }
  // The hash's fields are named as the entry's: its row as the kit reads one.
  return toInboxEntry(fields as unknown as InboxRow);
}

/** The settings an acknowledged write needs to survive a crash of the Redis server. */
const durableSettings = {
  appendonly: 'yes',
  appendfsync: 'always',
  'maxmemory-policy': 'noeviction',
} as const;

/**
 * Reads the server's persistence settings with one `CONFIG GET` and throws
 * `STORE_UNAVAILABLE` naming what is missing unless a 2xx would survive a Redis
 * crash.
 */
async function verifyRedisDurability(connection: RedisConnection): Promise<void> {
  const names = Object.keys(durableSettings);
  let reply: string[];
  try {
    reply = await connection.send<string[]>(['CONFIG', 'GET', ...names]);
  } catch (error) {
    const cause = error instanceof C2pError ? error.cause : error;
    // Unreachable or closed: say so. A reply error: CONFIG is renamed or forbidden.
    if (!(cause instanceof Error) || !/^(ERR|NOPERM)/.test(cause.message)) throw error;
    throw new C2pError('STORE_UNAVAILABLE', {
      cause,
      message: `[${pkg}] cannot read the Redis server's persistence settings (CONFIG GET failed), so a 2xx might not survive a Redis crash: pass durability: 'trust' once you have checked appendonly yes, appendfsync always and maxmemory-policy noeviction yourself`,
    });
  }
  const found: Record<string, string> = {};
  for (let at = 0; at + 1 < reply.length; at += 2) {
    found[reply[at] as string] = reply[at + 1] as string;
  }
  const wrong = Object.entries(durableSettings)
    .filter(([name, wanted]) => found[name] !== wanted)
    .map(([name, wanted]) => `${name} is ${found[name] ?? 'unknown'}, needs ${wanted}`);
  if (wrong.length > 0) {
    throw new C2pError('STORE_UNAVAILABLE', {
      message: `[${pkg}] the Redis server would lose acknowledged deliveries in a crash (${wrong.join('; ')}): the inbox refuses to accept deliveries until this is fixed, or pass durability: 'trust'`,
    });
  }
}

/** The enqueue script's arguments: six per record, the address as `+ip` or `-`. */
function enqueueArgs(records: readonly InboxRecord[]): Array<string | number> {
  const args: Array<string | number> = [];
  for (const record of records) {
    args.push(
      record.key,
      record.resourceKey,
      record.eventType,
      record.payload,
      record.receivedAt,
      record.clientIp === null ? '-' : `+${record.clientIp}`,
    );
  }
  return args;
}

/** How many candidates one step of a search, count or bulk replay reads at most. */
const SCAN_STEP = 500;

/** A `startedAt` for a script: a finite time, or '' when unknown. */
const startedAt = (value: number | undefined): number | '' =>
  typeof value === 'number' && Number.isFinite(value) ? Math.floor(value) : '';

/**
 * A checked filter as the scan script's JSON: only the fields given (the
 * script's JSON reads null as a value), ids valid and newest first.
 */
function scanFilter(filter: InboxFilter): string {
  const { state, resourceKey, eventType, key, receivedSince, receivedBefore, ids } = filter;
  return JSON.stringify({
    state,
    resourceKey,
    eventType,
    key,
    receivedSince,
    receivedBefore,
    ids:
      ids &&
      [...new Set(ids.filter(isId))]
        .map(Number)
        .sort((a, b) => b - a)
        .map(String),
  });
}

/** The inbox's settings once checked. */
interface RedisInboxSettings {
  readonly keyPrefix: string;
  readonly retainMs: number;
  readonly sweepBatch: number;
  readonly durability: 'verify' | 'trust';
  readonly clock: (() => number) | undefined;
}

/**
 * The inbox's operations: one script each. Arrow-function fields, so a spread
 * copy or a detached method works as on a plain object.
 */
class RedisInboxStore implements RedisInbox {
  /** No check has passed since the inbox started or the last one failed. */
  private unverified = true;
  /** Indexing, for search, what an earlier version stored: once per inbox. */
  private indexing: Promise<void> | undefined;

  constructor(
    private readonly connection: RedisConnection,
    private readonly settings: RedisInboxSettings,
  ) {}

  private run<T>(name: keyof typeof inboxScripts, args: Array<string | number>): Promise<T> {
    const { keyPrefix, clock } = this.settings;
    return this.connection.run<T>(
      inboxScripts[name],
      [],
      [keyPrefix, clock ? String(clock()) : '', ...args.map(String)],
    );
  }

  /** Runs a script that answers 1 when it changed the event `id` names. */
  private async changed(
    name: keyof typeof inboxScripts,
    id: string,
    args: Array<string | number> = [],
  ): Promise<boolean> {
    return isId(id) && (await this.run<number>(name, [id, ...args])) === 1;
  }

  verifyDurability = (): Promise<void> => verifyRedisDurability(this.connection);

  private async insert(records: readonly InboxRecord[]): Promise<boolean[]> {
    const answers = await this.run<number[]>('enqueue', enqueueArgs(records));
    return answers.map((inserted) => inserted === 1);
  }

  enqueue = async (records: readonly InboxRecord[]): Promise<boolean[]> => {
    if (records.length === 0) return [];
    if (this.settings.durability === 'trust') return this.insert(records);
    // Until a check passes (at first, and after one failed), nothing is written
    // before the settings are read: a server that would lose deliveries stores none.
    if (this.unverified) {
      await this.verifyDurability();
      this.unverified = false;
    }
    // Then the settings are read in the same round trip as each write, just
    // ahead of it on the one connection (CONFIG is not allowed in a script), so
    // a setting weakened at run time refuses the very next delivery. The
    // deliveries in flight then are stored all the same: Clik2pay's retries are
    // duplicates, answered 2xx only once the settings hold.
    const [checked, inserted] = await Promise.allSettled([
      this.verifyDurability(),
      this.insert(records),
    ]);
    if (checked.status === 'rejected') {
      this.unverified = true;
      throw checked.reason;
    }
    if (inserted.status === 'rejected') throw inserted.reason;
    return inserted.value;
  };

  lease = async (limit: number, leaseMs: number): Promise<InboxLease[]> => {
    const leased = await this.run<Array<[string, string[]]>>('lease', [
      limit,
      leaseMs,
      randomUUID(),
    ]);
    return leased
      .map(([token, flat]) => ({ token, entry: toEntry(flat) }))
      .sort((earlier, later) => Number(earlier.entry.id) - Number(later.entry.id));
  };

  renew = (id: string, token: string, leaseMs: number): Promise<boolean> =>
    this.changed('renew', id, [token, leaseMs]);

  complete = (id: string, token: string, attempt?: InboxAttempt): Promise<boolean> =>
    this.changed('complete', id, [token, startedAt(attempt?.startedAt)]);

  fail = (id: string, token: string, failure: InboxFailure): Promise<boolean> =>
    this.changed('fail', id, [
      token,
      failure.retryAt === null ? '' : Math.round(failure.retryAt),
      failure.error.slice(0, 2000),
      startedAt(failure.startedAt),
    ]);

  list = async ({ state, limit = inboxDefaults.listLimit }: InboxQuery): Promise<InboxEntry[]> => {
    if (!Number.isSafeInteger(limit) || limit < 1) return [];
    const rows = await this.run<string[][]>('list', [state, limit]);
    return rows.map(toEntry);
  };

  get = async (id: string): Promise<InboxEntry | undefined> => {
    if (!isId(id)) return undefined;
    const key = `${this.settings.keyPrefix}e:${id}`;
    const flat = await this.connection.send<string[]>(['HGETALL', key]);
    return flat.length === 0 ? undefined : toEntry(flat);
  };

  counts = async (): Promise<Record<InboxState, number>> => {
    // One count per state, in the order of inboxStates (the script is written from it).
    const counts = await this.run<number[]>('counts', []);
    return countInboxStates(inboxStates.map((state, at) => ({ state, count: counts[at] ?? 0 })));
  };

  replay = (id: string): Promise<boolean> => this.changed('replay', id);

  retryNow = (id: string): Promise<boolean> => this.changed('retryNow', id);

  sweep = (): Promise<number> =>
    this.run<number>('sweep', [this.settings.retainMs, this.settings.sweepBatch]);

  search = async (query: InboxSearch): Promise<InboxPage> => {
    const { limit, afterId, ...filter } = checkInboxSearch(query);
    await this.indexed();
    const entries: InboxEntry[] = [];
    // One more than the page, to know whether another follows.
    await this.scan(filter, afterId, 'read', (found) => {
      entries.push(...(found as string[][]).map(toEntry));
      return limit + 1 - entries.length;
    });
    const page = entries.slice(0, limit);
    const last = page[page.length - 1];
    return { entries: page, next: entries.length > limit && last ? inboxCursor(last.id) : null };
  };

  history = async (id: string): Promise<InboxHistoryItem[]> => {
    if (!isId(id)) return [];
    const items = await this.connection.send<string[]>([
      'LRANGE',
      `${this.settings.keyPrefix}h:${id}`,
      '0',
      '-1',
    ]);
    return items.map((item) => JSON.parse(item) as InboxHistoryItem);
  };

  resolve = (id: string, note: string): Promise<boolean> =>
    this.changed('resolve', id, [String(note).slice(0, 2000)]);

  replayMatching = async (
    filter: InboxFilter,
    options: InboxReplayOptions = {},
  ): Promise<number> => {
    const dead = replayableInboxFilter(filter);
    await this.indexed();
    let total = 0;
    await this.scan(dead, null, options.dryRun === true ? 'count' : 'replay', (found) => {
      total += found as number;
      return Number.MAX_SAFE_INTEGER;
    });
    return total;
  };

  setPaused = async (paused: boolean): Promise<void> => {
    if (typeof paused !== 'boolean') throw invalidOption('paused', 'must be a boolean', pkg);
    const key = `${this.settings.keyPrefix}paused`;
    await this.connection.send(paused ? ['SET', key, '1'] : ['DEL', key]);
  };

  isPaused = async (): Promise<boolean> =>
    (await this.connection.send<number>(['EXISTS', `${this.settings.keyPrefix}paused`])) === 1;

  /**
   * Runs the scan script a bounded step at a time, newest first, until
   * `take` (given each step's matches) answers that nothing more is wanted, or
   * the index is exhausted. Each step is one script: atomic, and short enough
   * not to hold up the server.
   */
  private async scan(
    filter: InboxFilter,
    afterId: string | null,
    mode: 'read' | 'count' | 'replay',
    take: (found: unknown) => number,
  ): Promise<void> {
    const json = scanFilter(filter);
    let after = afterId ?? '';
    let want = take(mode === 'read' ? [] : 0);
    while (want > 0) {
      const [found, last, exhausted] = await this.run<[unknown, string, number]>('scan', [
        json,
        after,
        Math.min(want, SCAN_STEP),
        SCAN_STEP,
        mode,
      ]);
      want = take(found);
      if (exhausted === 1 || last === after) return;
      after = last;
    }
  }

  /** Indexes, once per inbox, the events an earlier version stored (a step at a time). */
  private indexed(): Promise<void> {
    this.indexing ??= (async () => {
      while ((await this.run<number>('indexEvents', [SCAN_STEP])) !== 1) {
        // each step indexes SCAN_STEP ids
      }
    })().catch((error: unknown) => {
      this.indexing = undefined;
      throw error;
    });
    return this.indexing;
  }

  close = (): Promise<void> => this.connection.close();
}

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
  const { retainMs, sweepBatch } = inboxRetention(options, pkg);
  const readyTimeoutMs = integerOption(options.readyTimeoutMs, 'options.readyTimeoutMs', {
    fallback: 2000,
    pkg,
  });
  // durabilityCheckMs is checked, though no longer used (see its TSDoc).
  const { durability } = inboxDurability(options, pkg);
  if (options.now !== undefined && typeof options.now !== 'function') {
    throw invalidOption('options.now', 'must be a function answering milliseconds', pkg);
  }
  const settings = { keyPrefix, retainMs, sweepBatch, durability };
  const connection = openRedisConnection(options.client, readyTimeoutMs);
  return new RedisInboxStore(connection, { ...settings, clock: options.now });
}
