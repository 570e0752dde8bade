import { randomUUID } from 'node:crypto';
import type { Backend, Intake } from '../backend.js';

/** Closes a store or inbox that has a `close` (the memory ones have none). */
export async function closeIntake(intake: Intake): Promise<void> {
  const closable = (intake.mode === 'sync' ? intake.store : intake.inbox) as {
    close?: () => Promise<void>;
  };
  await closable.close?.();
}

/**
 * Adds the health check. Sync mode: a claim and release of a throwaway key.
 * Inbox mode: a read of the inbox (and, on Redis with `verify`, its durability
 * settings). Both: a read of the order book.
 */
export function withHealth(
  backend: Omit<Backend, 'check'>,
  inboxCheck?: () => Promise<void>,
): Backend {
  return {
    ...backend,
    async check() {
      const { intake } = backend;
      if (intake.mode === 'sync') {
        const key = `c2p-reference:health:${randomUUID()}`;
        const claim = await intake.store.claim(key, 5_000);
        if (claim.status === 'acquired') await intake.store.release(key, claim.token);
      } else {
        await intake.inbox.list({ state: 'pending', limit: 1 });
        await inboxCheck?.();
      }
      await backend.orders.ping();
    },
  };
}
