import { integerOption } from './errors.js';
import type { ClaimResult, IdempotencyStore } from './idempotency-store.js';

/** Options for {@link createMemoryStore}. */
export interface MemoryStoreOptions {
  /** The clock, in milliseconds; inject a fake one in tests. Defaults to `Date.now`. */
  now?: () => number;
  /**
   * The most keys held: past it the oldest completed keys are forgotten first
   * (a key being processed never is), so a flood of unique deliveries cannot
   * grow the process without end. Defaults to `100000` (some 30 MB).
   */
  maxKeys?: number;
}

interface Lease {
  token: string;
  expiresAt: number;
}

/** The in-memory store, with {@link MemoryStore.size} for tests and metrics. */
export interface MemoryStore extends IdempotencyStore {
  /** Answers at once: nothing to wait for in memory. */
  claim(key: string, leaseMs: number): ClaimResult;
  renew(key: string, token: string, leaseMs: number): Promise<boolean>;
  /** How many keys are held (pending or completed), expired ones swept first. */
  size(): number;
  /** Forgets every key. */
  close(): Promise<void>;
}

// The same answers for every caller: nothing to allocate for a duplicate.
const completedClaim: ClaimResult = Object.freeze({ status: 'completed' });
const inProgressClaim: ClaimResult = Object.freeze({ status: 'in_progress' });

/**
 * An {@link IdempotencyStore} in this process's memory, for tests and trials. It
 * serves one process that never restarts, and holds at most
 * `maxKeys` keys: use a durable store (`@c2p/store-sqlite` and
 * others) for anything you deploy. Expired entries are swept as new keys arrive.
 */
export function createMemoryStore(options: MemoryStoreOptions = {}): MemoryStore {
  const now = options.now ?? Date.now;
  const maxKeys = integerOption(options.maxKeys, 'options.maxKeys', { fallback: 100_000 });
  // A claimed key holds its lease; a completed one only its expiry (one number,
  // not an object, per remembered key). In claim order: the oldest come first.
  const entries = new Map<string, Lease | number>();
  let claimsSinceSweep = 0;
  // Tokens only need to tell this store's owners apart: a counter under a random
  // prefix does that without a UUID's cost on every claim. The prefix is drawn at
  // the first claim, not here: Cloudflare Workers refuse random values at module
  // scope, where createWebhooks (and so this store) is usually built.
  let tokenPrefix: string | undefined;
  let tokens = 0;

  const expiryOf = (entry: Lease | number): number =>
    typeof entry === 'number' ? entry : entry.expiresAt;

  const sweep = (at: number): void => {
    for (const [key, entry] of entries) if (expiryOf(entry) <= at) entries.delete(key);
    claimsSinceSweep = 0;
  };

  // Past the bound, first forget what has expired (abandoned claims among them:
  // while every claim adds a key, the sweep in claim never comes round, and they
  // must not push out a completed key still retained), then the oldest completed
  // keys down to a sixteenth under the bound, so that the next pass is a sixteenth
  // of maxKeys completions away: amortised, a key costs a few steps of these loops.
  const bound = (at: number): void => {
    if (entries.size <= maxKeys) return;
    sweep(at);
    let excess = entries.size - maxKeys + Math.ceil(maxKeys / 16);
    for (const [key, entry] of entries) {
      if (excess <= 0) break;
      if (typeof entry === 'number') {
        entries.delete(key);
        excess--;
      }
    }
  };

  const owned = (key: string, token: string, at: number): Lease | undefined => {
    const entry = entries.get(key);
    return typeof entry === 'object' && entry.token === token && entry.expiresAt > at
      ? entry
      : undefined;
  };

  return {
    claim(key, leaseMs): ClaimResult {
      const at = now();
      if (++claimsSinceSweep >= 1024 && claimsSinceSweep >= entries.size) sweep(at);
      const entry = entries.get(key);
      if (entry !== undefined) {
        if (typeof entry === 'number') {
          if (entry > at) return completedClaim;
        } else if (entry.expiresAt > at) return inProgressClaim;
      }
      tokenPrefix ??= `${crypto.randomUUID()}:`;
      const token = `${tokenPrefix}${++tokens}`;
      entries.set(key, { token, expiresAt: at + leaseMs });
      return { status: 'acquired', token };
    },
    async complete(key, token, retainMs) {
      const at = now();
      if (!owned(key, token, at)) return false;
      entries.set(key, at + retainMs);
      bound(at);
      return true;
    },
    async renew(key, token, leaseMs) {
      const at = now();
      const lease = owned(key, token, at);
      if (!lease) return false;
      lease.expiresAt = at + leaseMs;
      return true;
    },
    async release(key, token) {
      if (!owned(key, token, now())) return false;
      entries.delete(key);
      return true;
    },
    size() {
      sweep(now());
      return entries.size;
    },
    async close() {
      entries.clear();
    },
  };
}
