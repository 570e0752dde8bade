import { integerOption } from './errors.js';
import { inboxDefaults, inboxRetention } from './inbox-defaults.js';
import {
  appendInboxHistory,
  checkInboxSearch,
  inboxAttemptItem,
  inboxCursor,
  matchesInboxFilter,
  replayableInboxFilter,
} from './inbox-search.js';
import { countInboxStates, isUnfinishedInboxState } from './inbox-states.js';
import type {
  InboxAttempt,
  InboxEntry,
  InboxFailure,
  InboxFilter,
  InboxHistoryItem,
  InboxLease,
  InboxPage,
  InboxQuery,
  InboxRecord,
  InboxReplayOptions,
  InboxSearch,
  InboxState,
  InboxStore,
} from './inbox-store.js';

/** Options for {@link createMemoryInbox}. */
export interface MemoryInboxOptions {
  /** How long a processed event is kept for deduplication, in ms. Defaults to `2592000000` (30 days). */
  retainMs?: number;
  /** The clock, in milliseconds; inject a fake one in tests. Defaults to `Date.now`. */
  now?: () => number;
  /**
   * The most processed events kept: past it the oldest processed ones are
   * forgotten first (and a redelivery of one would be stored again), so a trial
   * under load cannot grow the process without end. Pending, retrying and dead
   * events are never dropped. Defaults to `10000`.
   */
  maxProcessed?: number;
}

/** The in-memory inbox, with {@link MemoryInbox.size} for tests. */
export interface MemoryInbox extends InboxStore {
  /** How many events are held, in any state. */
  size(): number;
  sweep(): Promise<number>;
  search(query: InboxSearch): Promise<InboxPage>;
  history(id: string): Promise<InboxHistoryItem[]>;
  resolve(id: string, note: string): Promise<boolean>;
  replayMatching(filter: InboxFilter, options?: InboxReplayOptions): Promise<number>;
  setPaused(paused: boolean): Promise<void>;
  isPaused(): Promise<boolean>;
  close(): Promise<void>;
}

interface Slot {
  entry: InboxEntry;
  seq: number;
  token: string | null;
  lockedUntil: number;
  history: InboxHistoryItem[];
}

/** Pending and retrying events, and processed ones, each in the order a rule reads them. */
class MemorySlots {
  readonly byId = new Map<string, Slot>();
  readonly byKey = new Map<string, Slot>();
  /** Pending and retrying events in arrival order: the only ones a lease looks at. */
  readonly unfinished = new Map<string, Slot>();
  /** Processed and resolved events in the order they finished: the oldest leave first. */
  readonly processed = new Map<string, Slot>();

  constructor(private readonly maxProcessed: number) {}

  /** Changes an entry and files its slot under its new state. */
  update(slot: Slot, changes: Partial<InboxEntry>): void {
    slot.entry = { ...slot.entry, ...changes };
    const { id, state } = slot.entry;
    if (isUnfinishedInboxState(state)) this.unfinished.set(id, slot);
    else this.unfinished.delete(id);
    if (state === 'processed' || state === 'resolved') {
      this.processed.set(id, slot);
      const over = this.processed.size - this.maxProcessed;
      if (over > 0) this.forgetOldest(over);
    }
  }

  forget(slot: Slot): void {
    this.byId.delete(slot.entry.id);
    this.byKey.delete(slot.entry.key);
    this.processed.delete(slot.entry.id);
  }

  private forgetOldest(count: number): void {
    let left = count;
    for (const slot of this.processed.values()) {
      if (left-- <= 0) break;
      this.forget(slot);
    }
  }

  /**
   * The slot `token` holds. The token alone fences: a lease is taken over only
   * by a new lease, which writes a new token. A holder whose lease ran out with
   * nobody taking over may still record its outcome (its handler outlived the
   * lease, then failed).
   */
  held(id: string, token: string): Slot | undefined {
    const slot = this.byId.get(id);
    return slot && slot.token === token && this.unfinished.has(id) ? slot : undefined;
  }

  /** Puts a replayed event back in arrival order among the unfinished, so its resource's order holds. */
  reorderUnfinished(): void {
    const rest = [...this.unfinished.values()].sort((earlier, later) => earlier.seq - later.seq);
    this.unfinished.clear();
    for (const other of rest) this.unfinished.set(other.entry.id, other);
  }

  clear(): void {
    this.byId.clear();
    this.byKey.clear();
    this.unfinished.clear();
    this.processed.clear();
  }
}

const release = (slot: Slot): void => {
  slot.token = null;
  slot.lockedUntil = 0;
};

/**
 * The memory inbox's operations. Arrow-function fields, not prototype methods,
 * so a spread copy (`{ ...inbox }`) or a detached method works as on the plain
 * object this once was.
 */
class MemoryInboxStore implements MemoryInbox {
  private readonly slots: MemorySlots;
  private seq = 0;
  private tokens = 0;
  private tokenPrefix: string | undefined;
  private paused = false;

  constructor(
    private readonly now: () => number,
    private readonly retainMs: number,
    maxProcessed: number,
  ) {
    this.slots = new MemorySlots(maxProcessed);
  }

  /** Created on first use: Workers forbid random values at module scope. */
  private nextToken(): string {
    this.tokenPrefix ??= `${crypto.randomUUID()}:`;
    return `${this.tokenPrefix}${++this.tokens}`;
  }

  enqueue = async (records: readonly InboxRecord[]): Promise<boolean[]> =>
    records.map((record) => {
      if (this.slots.byKey.has(record.key)) return false;
      const id = String(++this.seq);
      const slot: Slot = {
        entry: {
          ...record,
          id,
          state: 'pending',
          attempts: 0,
          nextAttemptAt: record.receivedAt,
          lastError: null,
          processedAt: null,
        },
        seq: this.seq,
        token: null,
        lockedUntil: 0,
        history: [],
      };
      this.slots.byId.set(id, slot);
      this.slots.byKey.set(record.key, slot);
      this.slots.unfinished.set(id, slot);
      return true;
    });

  lease = async (limit: number, leaseMs: number): Promise<InboxLease[]> => {
    if (this.paused) return [];
    const at = this.now();
    const blocked = new Set<string>();
    const leases: InboxLease[] = [];
    for (const slot of this.slots.unfinished.values()) {
      if (leases.length >= limit) break;
      const { resourceKey } = slot.entry;
      // Only the earliest unfinished event of a resource may run.
      if (blocked.has(resourceKey)) continue;
      blocked.add(resourceKey);
      if (slot.lockedUntil > at || (slot.entry.nextAttemptAt ?? 0) > at) continue;
      slot.token = this.nextToken();
      slot.lockedUntil = at + leaseMs;
      this.slots.update(slot, { attempts: slot.entry.attempts + 1 });
      leases.push({ entry: slot.entry, token: slot.token });
    }
    return leases;
  };

  renew = async (id: string, token: string, leaseMs: number): Promise<boolean> => {
    const at = this.now();
    const slot = this.slots.held(id, token);
    if (!slot || slot.lockedUntil <= at) return false;
    slot.lockedUntil = at + leaseMs;
    return true;
  };

  complete = async (id: string, token: string, attempt?: InboxAttempt): Promise<boolean> => {
    const at = this.now();
    const slot = this.slots.held(id, token);
    if (!slot) return false;
    release(slot);
    this.record(slot, inboxAttemptItem(at, 'processed', attempt?.startedAt));
    this.slots.update(slot, { state: 'processed', processedAt: at, nextAttemptAt: null });
    return true;
  };

  fail = async (id: string, token: string, failure: InboxFailure): Promise<boolean> => {
    const slot = this.slots.held(id, token);
    if (!slot) return false;
    release(slot);
    const outcome = failure.retryAt === null ? 'dead' : 'retrying';
    this.record(slot, inboxAttemptItem(this.now(), outcome, failure.startedAt, failure.error));
    this.slots.update(
      slot,
      failure.retryAt === null
        ? { state: 'dead', nextAttemptAt: null, lastError: failure.error }
        : { state: 'retrying', nextAttemptAt: failure.retryAt, lastError: failure.error },
    );
    return true;
  };

  list = async (query: InboxQuery): Promise<InboxEntry[]> => {
    const limit = query.limit ?? inboxDefaults.listLimit;
    const found = [...this.slots.byId.values()].filter(({ entry }) => entry.state === query.state);
    if (!isUnfinishedInboxState(query.state)) found.reverse();
    return found.slice(0, limit).map((slot) => slot.entry);
  };

  get = async (id: string): Promise<InboxEntry | undefined> => this.slots.byId.get(id)?.entry;

  counts = async (): Promise<Record<InboxState, number>> =>
    countInboxStates(
      [...this.slots.byId.values()].map(({ entry }) => ({ state: entry.state, count: 1 })),
    );

  replay = async (id: string): Promise<boolean> => {
    const slot = this.slots.byId.get(id);
    if (slot?.entry.state !== 'dead') return false;
    this.revive(slot);
    this.slots.reorderUnfinished();
    return true;
  };

  retryNow = async (id: string): Promise<boolean> => {
    const slot = this.slots.byId.get(id);
    if (slot?.entry.state !== 'retrying') return false;
    const at = this.now();
    this.record(slot, { at, action: 'retried-now' });
    this.slots.update(slot, { nextAttemptAt: at });
    return true;
  };

  search = async (query: InboxSearch): Promise<InboxPage> => {
    const { limit, afterId, ...filter } = checkInboxSearch(query);
    const below = afterId === null ? Number.POSITIVE_INFINITY : Number(afterId);
    const entries: InboxEntry[] = [];
    const all = [...this.slots.byId.values()];
    for (let index = all.length - 1; index >= 0 && entries.length < limit; index--) {
      const slot = all[index] as Slot;
      if (slot.seq < below && matchesInboxFilter(slot.entry, filter)) entries.push(slot.entry);
    }
    const last = entries[entries.length - 1];
    const more =
      last !== undefined &&
      entries.length === limit &&
      all.some((slot) => slot.seq < Number(last.id) && matchesInboxFilter(slot.entry, filter));
    return { entries, next: more ? inboxCursor(last.id) : null };
  };

  history = async (id: string): Promise<InboxHistoryItem[]> => [
    ...(this.slots.byId.get(id)?.history ?? []),
  ];

  resolve = async (id: string, note: string): Promise<boolean> => {
    const slot = this.slots.byId.get(id);
    if (slot?.entry.state !== 'dead') return false;
    const at = this.now();
    this.record(slot, { at, action: 'resolved', note });
    this.slots.update(slot, { state: 'resolved', processedAt: at });
    return true;
  };

  replayMatching = async (
    filter: InboxFilter,
    options: InboxReplayOptions = {},
  ): Promise<number> => {
    const dead = replayableInboxFilter(filter);
    const matched = [...this.slots.byId.values()].filter(({ entry }) =>
      matchesInboxFilter(entry, dead),
    );
    if (options.dryRun === true) return matched.length;
    for (const slot of matched) this.revive(slot);
    if (matched.length > 0) this.slots.reorderUnfinished();
    return matched.length;
  };

  setPaused = async (paused: boolean): Promise<void> => {
    this.paused = paused;
  };

  isPaused = async (): Promise<boolean> => this.paused;

  /** A dead event made pending again, due now, attempts reset, the replay in its history. */
  private revive(slot: Slot): void {
    const at = this.now();
    release(slot);
    this.record(slot, { at, action: 'replayed' });
    this.slots.update(slot, { state: 'pending', attempts: 0, nextAttemptAt: at, lastError: null });
  }

  private record(slot: Slot, item: InboxHistoryItem): void {
    slot.history = appendInboxHistory(slot.history, item);
  }

  sweep = async (): Promise<number> => {
    const before = this.now() - this.retainMs;
    let swept = 0;
    for (const slot of this.slots.processed.values()) {
      const { processedAt } = slot.entry;
      if (processedAt !== null && processedAt <= before) {
        this.slots.forget(slot);
        swept++;
      }
    }
    return swept;
  };

  size = (): number => this.slots.byId.size;

  close = async (): Promise<void> => {
    this.slots.clear();
  };
}

/**
 * An {@link InboxStore} in this process's memory, for tests and trials. It is
 * NOT durable: a 2xx from a pipeline on it survives nothing, not even a restart.
 * Use `@c2p/store-sqlite` or `@c2p/store-postgres` for anything you deploy.
 * Memory stays bounded: processed events leave after `retainMs` (at `sweep()`,
 * which a worker calls) or, sooner, once more than `maxProcessed` are held.
 */
export function createMemoryInbox(options: MemoryInboxOptions = {}): MemoryInbox {
  const { retainMs } = inboxRetention({ retainMs: options.retainMs });
  const maxProcessed = integerOption(options.maxProcessed, 'options.maxProcessed', {
    fallback: 10_000,
  });
  return new MemoryInboxStore(options.now ?? Date.now, retainMs, maxProcessed);
}
