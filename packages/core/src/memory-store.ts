import type { ClaimResult, IdempotencyStore } from './idempotency-store.js';

/** Options for {@link createMemoryStore}. */
export interface MemoryStoreOptions {
  /** The clock, in milliseconds; inject a fake one in tests. Defaults to `Date.now`. */
  now?: () => number;
}

interface Entry {
  completed: boolean;
  token: string;
  expiresAt: number;
}

/** The in-memory store, with {@link MemoryStore.size} for tests and metrics. */
export interface MemoryStore extends IdempotencyStore {
  renew(key: string, token: string, leaseMs: number): Promise<boolean>;
  /** How many keys are held (pending or completed), expired ones swept first. */
  size(): number;
  /** Forgets every key. */
  close(): Promise<void>;
}

/**
 * An {@link IdempotencyStore} in this process's memory. It serves one process
 * that never restarts: use a durable store (`@c2p/store-sqlite` and others) for
 * anything you deploy. Expired entries are swept as new keys arrive.
 */
export function createMemoryStore(options: MemoryStoreOptions = {}): MemoryStore {
  const now = options.now ?? Date.now;
  const entries = new Map<string, Entry>();
  let claimsSinceSweep = 0;
  // Tokens only need to tell this store's owners apart: a counter under a random
  // prefix does that without a UUID's cost on every claim. The prefix is drawn at
  // the first claim, not here: Cloudflare Workers refuse random values at module
  // scope, where createWebhooks (and so this store) is usually built.
  let tokenPrefix: string | undefined;
  let tokens = 0;

  const sweep = (at: number): void => {
    for (const [key, entry] of entries) if (entry.expiresAt <= at) entries.delete(key);
    claimsSinceSweep = 0;
  };

  const owned = (key: string, token: string, at: number): Entry | undefined => {
    const entry = entries.get(key);
    return entry && !entry.completed && entry.token === token && entry.expiresAt > at
      ? entry
      : undefined;
  };

  return {
    async claim(key, leaseMs): Promise<ClaimResult> {
      const at = now();
      if (++claimsSinceSweep >= 1024 && claimsSinceSweep >= entries.size) sweep(at);
      const entry = entries.get(key);
      if (entry && entry.expiresAt > at) {
        return entry.completed ? { status: 'completed' } : { status: 'in_progress' };
      }
      tokenPrefix ??= `${crypto.randomUUID()}:`;
      const token = `${tokenPrefix}${++tokens}`;
      entries.set(key, { completed: false, token, expiresAt: at + leaseMs });
      return { status: 'acquired', token };
    },
    async complete(key, token, retainMs) {
      const at = now();
      const entry = owned(key, token, at);
      if (!entry) return false;
      entry.completed = true;
      entry.expiresAt = at + retainMs;
      return true;
    },
    async renew(key, token, leaseMs) {
      const at = now();
      const entry = owned(key, token, at);
      if (!entry) return false;
      entry.expiresAt = at + leaseMs;
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
