/** Keeps the leases of the events being processed alive: sync mode's claims and the inbox worker's leases alike. */
export interface LeaseKeeper {
  /** Renews the lease of `id` (a key, or an inbox event's id) every third of it until the returned function is called. */
  hold(id: string, token: string): () => void;
}

/** Extends the lease of `id` to `leaseMs` from now; `false` when `token` no longer holds it. */
export type RenewLease = (id: string, token: string, leaseMs: number) => Promise<boolean>;

interface Held {
  readonly id: string;
  readonly token: string;
}

const release = (): void => {};

/**
 * Renews every held lease with `renew` every third of `leaseMs`, on one timer
 * for all of them: holding and letting go cost a set insertion, not a timer
 * per event, and the timer is not re-armed once nothing is held. A lease is
 * renewed within a third of `leaseMs` of being held, and then every third.
 * Without `renew` (a store that cannot renew) it holds nothing: such a lease
 * must outlast the handlers.
 */
export function createLeaseKeeper(renew: RenewLease | undefined, leaseMs: number): LeaseKeeper {
  if (renew === undefined) return { hold: () => release };
  const every = Math.max(1, Math.floor(leaseMs / 3));
  const held = new Set<Held>();
  let armed = false;

  const tick = (): void => {
    armed = false;
    if (held.size === 0) return;
    for (const lease of held) {
      renew(lease.id, lease.token, leaseMs).then(
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
    hold(id, token) {
      const lease = { id, token };
      held.add(lease);
      arm();
      return () => {
        held.delete(lease);
      };
    },
  };
}
