import { createMemoryInbox, createMemoryStore } from '@c2p/core';
import { createMemoryAuditStorage } from '../audit/audit-log.js';
import type { Backend, BackendConfig, Intake } from '../backend.js';
import { createMemoryDeliveryStorage } from '../delivery-log.js';
import { createMemoryOrderBook } from '../order-books/memory-order-book.js';
import { withHealth } from './backend-health.js';

/** `C2P_STORE=memory`: everything in this process, lost at restart. */
export async function openMemoryBackend({ mode, inboxRetainMs }: BackendConfig): Promise<Backend> {
  const intake: Intake =
    mode === 'inbox'
      ? { mode, inbox: createMemoryInbox({ retainMs: inboxRetainMs }) }
      : { mode: 'sync', store: createMemoryStore() };
  return withHealth({
    kind: 'memory',
    intake,
    orders: createMemoryOrderBook(),
    deliveries: createMemoryDeliveryStorage(),
    audit: createMemoryAuditStorage(),
    description: 'memory (lost at restart)',
    guarantee:
      mode === 'inbox'
        ? "a 2xx means the events are in this process's memory: a restart loses those not yet processed"
        : 'a 2xx means the handlers ran, exactly once while the process lives; nothing survives a restart',
    close: async () => {},
  });
}
