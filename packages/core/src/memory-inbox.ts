import { integerOption } from './errors.js';
import type {
  InboxEntry,
  InboxFailure,
  InboxLease,
  InboxQuery,
  InboxRecord,
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
  close(): Promise<void>;
}

interface Slot {
  entry: InboxEntry;
  seq: number;
  token: string | null;
  lockedUntil: number;
}

/**
 * An {@link InboxStore} in this process's memory, for tests and trials. It is
 * NOT durable: a 2xx from a pipeline on it survives nothing, not even a restart.
 * Use `@c2p/store-sqlite` or `@c2p/store-postgres` for anything you deploy.
 * Memory stays bounded: processed events leave after `retainMs` (at `sweep()`,
 * which a worker calls) or, sooner, once more than `maxProcessed` are held.
 */
export function createMemoryInbox(options: MemoryInboxOptions = {}): MemoryInbox {
  const now = options.now ?? Date.now;
  const retainMs = integerOption(options.retainMs, 'options.retainMs', {
    fallback: 30 * 24 * 60 * 60 * 1000,
  });
  const byId = new Map<string, Slot>();
  const byKey = new Map<string, Slot>();
  // Pending and retrying events in arrival order: the only ones a lease looks at.
  const unfinished = new Map<string, Slot>();
  // Processed events in the order they were processed: the oldest leave first.
  const processed = new Map<string, Slot>();
  const maxProcessed = integerOption(options.maxProcessed, 'options.maxProcessed', {
    fallback: 10_000,
  });
  let seq = 0;
  let tokens = 0;
  let tokenPrefix: string | undefined;

  // Created on first use: Workers forbid random values at module scope.
  const nextToken = (): string => {
    tokenPrefix ??= `${crypto.randomUUID()}:`;
    return `${tokenPrefix}${++tokens}`;
  };

  const update = (slot: Slot, changes: Partial<InboxEntry>): void => {
    slot.entry = { ...slot.entry, ...changes };
    const { state } = slot.entry;
    if (state === 'pending' || state === 'retrying') unfinished.set(slot.entry.id, slot);
    else unfinished.delete(slot.entry.id);
    if (state === 'processed') {
      processed.set(slot.entry.id, slot);
      if (processed.size > maxProcessed) forgetOldest(processed.size - maxProcessed);
    }
  };

  const forget = (slot: Slot): void => {
    byId.delete(slot.entry.id);
    byKey.delete(slot.entry.key);
    processed.delete(slot.entry.id);
  };

  const forgetOldest = (count: number): void => {
    for (const slot of processed.values()) {
      if (count-- <= 0) break;
      forget(slot);
    }
  };

  // The token alone fences: a lease is taken over only by a new lease, which
  // writes a new token. A holder whose lease ran out with nobody taking over
  // may still record its outcome (its handler outlived the lease, then failed).
  const held = (id: string, token: string): Slot | undefined => {
    const slot = byId.get(id);
    return slot && slot.token === token && unfinished.has(id) ? slot : undefined;
  };

  const release = (slot: Slot): void => {
    slot.token = null;
    slot.lockedUntil = 0;
  };

  return {
    async enqueue(records: readonly InboxRecord[]) {
      return records.map((record) => {
        if (byKey.has(record.key)) return false;
        const id = String(++seq);
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
          seq,
          token: null,
          lockedUntil: 0,
        };
        byId.set(id, slot);
        byKey.set(record.key, slot);
        unfinished.set(id, slot);
        return true;
      });
    },
    async lease(limit: number, leaseMs: number): Promise<InboxLease[]> {
      const at = now();
      const blocked = new Set<string>();
      const leases: InboxLease[] = [];
      for (const slot of unfinished.values()) {
        if (leases.length >= limit) break;
        const { resourceKey } = slot.entry;
        // Only the earliest unfinished event of a resource may run.
        if (blocked.has(resourceKey)) continue;
        blocked.add(resourceKey);
        if (slot.lockedUntil > at || (slot.entry.nextAttemptAt ?? 0) > at) continue;
        slot.token = nextToken();
        slot.lockedUntil = at + leaseMs;
        update(slot, { attempts: slot.entry.attempts + 1 });
        leases.push({ entry: slot.entry, token: slot.token });
      }
      return leases;
    },
    async renew(id, token, leaseMs) {
      const at = now();
      const slot = held(id, token);
      if (!slot || slot.lockedUntil <= at) return false;
      slot.lockedUntil = at + leaseMs;
      return true;
    },
    async complete(id, token) {
      const at = now();
      const slot = held(id, token);
      if (!slot) return false;
      release(slot);
      update(slot, { state: 'processed', processedAt: at, nextAttemptAt: null });
      return true;
    },
    async fail(id, token, failure: InboxFailure) {
      const slot = held(id, token);
      if (!slot) return false;
      release(slot);
      update(
        slot,
        failure.retryAt === null
          ? { state: 'dead', nextAttemptAt: null, lastError: failure.error }
          : { state: 'retrying', nextAttemptAt: failure.retryAt, lastError: failure.error },
      );
      return true;
    },
    async list(query: InboxQuery) {
      const limit = query.limit ?? 50;
      const oldestFirst = query.state === 'pending' || query.state === 'retrying';
      const found = [...byId.values()].filter((slot) => slot.entry.state === query.state);
      if (!oldestFirst) found.reverse();
      return found.slice(0, limit).map((slot) => slot.entry);
    },
    async get(id) {
      return byId.get(id)?.entry;
    },
    async counts() {
      const counts: Record<InboxState, number> = { pending: 0, retrying: 0, dead: 0, processed: 0 };
      for (const slot of byId.values()) counts[slot.entry.state]++;
      return counts;
    },
    async replay(id) {
      const slot = byId.get(id);
      if (slot?.entry.state !== 'dead') return false;
      release(slot);
      update(slot, { state: 'pending', attempts: 0, nextAttemptAt: now(), lastError: null });
      // Back in arrival order among the unfinished, so its resource's order holds.
      const rest = [...unfinished.values()].sort((a, b) => a.seq - b.seq);
      unfinished.clear();
      for (const s of rest) unfinished.set(s.entry.id, s);
      return true;
    },
    async retryNow(id) {
      const slot = byId.get(id);
      if (slot?.entry.state !== 'retrying') return false;
      update(slot, { nextAttemptAt: now() });
      return true;
    },
    async sweep() {
      const before = now() - retainMs;
      let swept = 0;
      for (const slot of processed.values()) {
        const { processedAt } = slot.entry;
        if (processedAt !== null && processedAt <= before) {
          forget(slot);
          swept++;
        }
      }
      return swept;
    },
    size() {
      return byId.size;
    },
    async close() {
      byId.clear();
      byKey.clear();
      unfinished.clear();
      processed.clear();
    },
  };
}
