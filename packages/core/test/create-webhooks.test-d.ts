import { describe, expectTypeOf, it } from 'vitest';
import type {
  C2pEvent,
  EventFor,
  EventOf,
  KnownEvent,
  PaymentRequestResource,
  PaymentResource,
  ResourceBase,
  UnknownEventTypeEvent,
} from '../src/events.js';
import type {
  IdempotencyStore,
  TransactionalIdempotencyStore,
  TransactionOf,
} from '../src/idempotency-store.js';
import type { InboxTransactionOf, TransactionalInboxStore } from '../src/inbox-store.js';
import {
  createHandlers,
  createWebhooks,
  type HandlerContext,
  type InboxWorker,
  startInboxWorker,
  type WebhookIntake,
} from '../src/index.js';
import type { DeliveryHandler } from '../src/kit.js';
import { createMemoryInbox } from '../src/memory-inbox.js';
import { createMemoryStore } from '../src/memory-store.js';

const credentials = { username: 'u', password: 'p' };

describe('handler narrowing', () => {
  it('gives on("PAYMENT-COMPLETED") the narrowed event', () => {
    createWebhooks({ credentials, allowedIps: ['production'] }).on('PAYMENT-COMPLETED', (event) => {
      expectTypeOf(event).toEqualTypeOf<EventFor<'PAYMENT-COMPLETED'>>();
      expectTypeOf(event.eventType).toEqualTypeOf<'PAYMENT-COMPLETED'>();
      expectTypeOf(event.known).toEqualTypeOf<true>();
      expectTypeOf(event.kind).toEqualTypeOf<'payment-request' | 'payment' | 'unknown'>();
    });
  });

  it('gives a list of types the union of their events', () => {
    createWebhooks({ credentials, allowedIps: ['production'] }).on(
      ['PAYMENT-FAILED', 'PAYMENT-LINK-FOLLOWED'],
      (event) => {
        expectTypeOf(event.eventType).toEqualTypeOf<'PAYMENT-FAILED' | 'PAYMENT-LINK-FOLLOWED'>();
      },
    );
  });

  it('narrows the resource by kind', () => {
    createWebhooks({ credentials, allowedIps: ['production'] }).on('PAYMENT-COMPLETED', (event) => {
      if (event.kind === 'payment-request') {
        expectTypeOf(event.resource).toEqualTypeOf<PaymentRequestResource>();
        expectTypeOf(event.resource.payer).toEqualTypeOf<
          { name?: string; [field: string]: unknown } | undefined
        >();
      } else if (event.kind === 'payment') {
        expectTypeOf(event.resource).toEqualTypeOf<PaymentResource>();
        expectTypeOf(event.resource.recipient).toEqualTypeOf<
          { email?: string; mobileNumber?: string; [field: string]: unknown } | undefined
        >();
      } else {
        expectTypeOf(event.kind).toEqualTypeOf<'unknown'>();
        expectTypeOf(event.resource).toEqualTypeOf<ResourceBase>();
      }
      expectTypeOf(event.resource.id).toEqualTypeOf<string>();
    });
  });

  it('rejects an event type it does not know', () => {
    // @ts-expect-error: not a documented event type; use onUnknown
    createWebhooks({ credentials, allowedIps: ['production'] }).on('PAYMENT-REFUNDED', () => {});
  });

  it('gives onUnknown the unknown event type', () => {
    createWebhooks({ credentials, allowedIps: ['production'] }).onUnknown((event) => {
      expectTypeOf(event).toEqualTypeOf<UnknownEventTypeEvent>();
      expectTypeOf(event.known).toEqualTypeOf<false>();
      expectTypeOf(event.eventType).toEqualTypeOf<string>();
    });
  });

  it('gives onAny every event, narrowed by known, then eventType, then kind', () => {
    createWebhooks({ credentials, allowedIps: ['production'] }).onAny((event) => {
      expectTypeOf(event).toEqualTypeOf<C2pEvent>();
      if (event.known) {
        expectTypeOf(event).toEqualTypeOf<KnownEvent>();
        if (event.eventType === 'PAYMENT-FAILED') {
          expectTypeOf(event).toEqualTypeOf<EventOf<'PAYMENT-FAILED'>>();
          if (event.kind === 'payment')
            expectTypeOf(event.resource).toEqualTypeOf<PaymentResource>();
        }
      } else {
        expectTypeOf(event).toEqualTypeOf<UnknownEventTypeEvent>();
      }
    });
  });
});

describe('ctx.tx', () => {
  interface Tx {
    query(sql: string): Promise<void>;
  }
  const transactional = {} as TransactionalIdempotencyStore<Tx>;

  it('is the transaction of a transactional store', () => {
    const webhooks = createWebhooks({
      credentials,
      allowedIps: ['production'],
      store: transactional,
    });
    webhooks.on('PAYMENT-COMPLETED', (_event, ctx) => {
      expectTypeOf(ctx).toEqualTypeOf<HandlerContext<Tx>>();
      expectTypeOf(ctx.tx).toEqualTypeOf<Tx>();
      expectTypeOf(ctx.key).toEqualTypeOf<string>();
    });
    webhooks.onAny((_event, { tx }) => {
      expectTypeOf(tx).toEqualTypeOf<Tx>();
    });
    webhooks.onUnknown((_event, { tx }) => {
      expectTypeOf(tx).toEqualTypeOf<Tx>();
    });
  });

  it('is undefined for a plain store and for the default one', () => {
    createWebhooks({ credentials, allowedIps: ['production'], store: createMemoryStore() }).on(
      'PAYMENT-COMPLETED',
      (_event, { tx }) => {
        expectTypeOf(tx).toEqualTypeOf<undefined>();
      },
    );
    createWebhooks({
      credentials,
      allowedIps: ['production'],
      store: {} as IdempotencyStore,
    }).onAny((_event, { tx }) => {
      expectTypeOf(tx).toEqualTypeOf<undefined>();
    });
    createWebhooks({ credentials, allowedIps: ['production'] }).onAny((_event, { tx }) => {
      expectTypeOf(tx).toEqualTypeOf<undefined>();
    });
  });

  it('accepts async handlers', () => {
    createWebhooks({ credentials, allowedIps: ['production'] }).on(
      'PAYMENT-COMPLETED',
      async () => {},
    );
  });
});

describe('inbox mode types', () => {
  interface Client {
    query(sql: string): Promise<void>;
  }
  const inbox = {} as TransactionalInboxStore<Client>;

  it("hands the worker's handlers the inbox transaction", () => {
    const handlers = createHandlers<InboxTransactionOf<typeof inbox>>().on(
      'PAYMENT-COMPLETED',
      (_event, context) => {
        expectTypeOf(context.tx).toEqualTypeOf<Client>();
        expectTypeOf(context.attempt).toEqualTypeOf<number>();
      },
    );
    expectTypeOf(startInboxWorker({ inbox, handlers })).toEqualTypeOf<InboxWorker>();
    createHandlers().onAny((_event, context) => {
      expectTypeOf(context.tx).toEqualTypeOf<undefined>();
    });
  });

  it('refuses a registry typed for another transaction', () => {
    // @ts-expect-error the inbox hands its handlers a Client, not undefined
    startInboxWorker({ inbox, handlers: createHandlers<undefined>() });
  });

  it('refuses, at compile time, an option of sync mode or of the worker', () => {
    const base = { credentials, allowedIps: ['production'], inbox };
    // @ts-expect-error handlers go to startInboxWorker
    createWebhooks({ ...base, handlers: createHandlers<Client>() });
    // @ts-expect-error the retry schedule is the worker's
    createWebhooks({ ...base, retry: { maxAttempts: 3 } });
    // @ts-expect-error the lease is the worker's
    createWebhooks({ ...base, leaseMs: 5_000 });
    // @ts-expect-error retention is the inbox store's own option
    createWebhooks({ ...base, retainMs: 1_000 });
    // @ts-expect-error the inbox deduplicates; no store
    createWebhooks({ ...base, store: {} as IdempotencyStore });
  });

  it('gives an inbox intake no handler methods', () => {
    const intake = createWebhooks({ credentials, allowedIps: ['production'], inbox });
    expectTypeOf(intake).toEqualTypeOf<WebhookIntake>();
    expectTypeOf(intake).not.toHaveProperty('on');
  });

  it('refuses a retry schedule in sync mode', () => {
    // @ts-expect-error sync mode's only retries are Clik2pay's
    createWebhooks({ credentials, allowedIps: ['production'], retry: { maxAttempts: 3 } });
  });

  it('types sync handlers by the store given with them', () => {
    const store = {} as TransactionalIdempotencyStore<Client>;
    const handlers = createHandlers<TransactionOf<typeof store>>();
    createWebhooks({ credentials, allowedIps: ['production'], store, handlers }).on(
      'PAYMENT-FAILED',
      (_event, context) => {
        expectTypeOf(context.tx).toEqualTypeOf<Client>();
      },
    );
  });
});

describe('adapters take any pipeline', () => {
  it('accepts a sync or an inbox pipeline as a DeliveryHandler', () => {
    const sync = createWebhooks({ credentials, allowedIps: ['production'] });
    const inboxed = createWebhooks({
      credentials,
      allowedIps: ['production'],
      inbox: createMemoryInbox(),
    });
    expectTypeOf(sync).toExtend<DeliveryHandler>();
    expectTypeOf(inboxed).toExtend<DeliveryHandler>();
  });
});
