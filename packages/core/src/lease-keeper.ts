import type { IdempotencyStore } from './idempotency-store.js';

/** Keeps the leases of the events being processed alive. */
export interface LeaseKeeper {
  /** Renews `key`'s lease every third of it until the returned function is called. */
  hold(key: string, token: string): () => void;
}

interface Held {
  readonly key: string;
  readonly token: string;
}

const release = (): void => {};

/**
 * Renews every held lease with `store.renew` every third of `leaseMs`, on one
 * timer for all of them: holding and letting go cost a set insertion, not a
 * timer per event, and the timer is not re-armed once nothing is held. A lease
 * is renewed within a third of `leaseMs` of being held, and then every third.
 * A store without `renew` holds nothing: its lease must outlast the handlers.
 */
export function createLeaseKeeper(store: IdempotencyStore, leaseMs: number): LeaseKeeper {
  if (typeof store.renew !== 'function') return { hold: () => release };
  const renew = store.renew.bind(store);
  const every = Math.max(1, Math.floor(leaseMs / 3));
  const held = new Set<Held>();
  let armed = false;

  const tick = (): void => {
    armed = false;
    if (held.size === 0) return;
    for (const lease of held) {
      renew(lease.key, lease.token, leaseMs).then(
        // `false`: the lease is lost already; completion will say so.
        (kept) => kept || held.delete(lease),
        // A backend hiccup: try again at the next tick, while the lease lasts.
        () => {},
      );
    }
    arm();
  };
  const arm = (): void => {
    if (armed) return;
    armed = true;
    const timer: unknown = setTimeout(tick, every);
    // On Node, a pending renewal alone does not keep the process alive.
    (timer as { unref?: () => void }).unref?.();
  };

  return {
    hold(key, token) {
      const lease = { key, token };
      held.add(lease);
      arm();
      return () => {
        held.delete(lease);
      };
    },
  };
}
