import {
  createHandlers,
  createMemoryStore,
  createWebhooks,
  encodeBasicAuth,
  parseEvents,
} from '@c2p/core';
import type { WebhookRequest } from '@c2p/core/kit';
import { createBody, createEvent, type FactoryResourceKind } from '@c2p/testing';
import { describe, expect, it } from 'vitest';
import type { OrderEvent, OrderState } from '../src/order.js';
import type { OrderBook } from '../src/order-book.js';
import { createMemoryOrderBook } from '../src/order-books/memory-order-book.js';
import { registerOrderHandlers } from '../src/order-handlers.js';

// Real events, end to end in process: the testing kit's factories build the wire
// body, core parses it and dispatches it to the app's handlers, which write the
// real (memory) order book. Nothing here sets a target by hand.

const credentials = { username: 'clik2pay', password: 'mapping-test-password' };
const authorization = encodeBasicAuth(credentials.username, credentials.password);

const request = (body: unknown): WebhookRequest => ({
  method: 'POST',
  header: (name) =>
    name === 'authorization'
      ? authorization
      : name === 'content-type'
        ? 'application/json'
        : undefined,
  body: JSON.stringify(body),
  peerAddress: '127.0.0.1',
});

/** A pipeline wired as the app wires it, recording what the handlers made of each event. */
function createApp(book: OrderBook = createMemoryOrderBook()) {
  const seen: OrderEvent[] = [];
  const webhooks = createWebhooks({
    credentials,
    allowedIps: ['loopback'],
    store: createMemoryStore(),
    handlers: registerOrderHandlers(createHandlers(), async (event, context) => {
      seen.push(event);
      await book.apply(event, context.tx);
    }),
  });
  return {
    book,
    seen,
    async deliver(body: unknown): Promise<number> {
      return (await webhooks.handle(request(body))).status;
    },
  };
}

type Kind = FactoryResourceKind | 'unknown';
const eventTypes = [
  'PAYMENT-COMPLETED',
  'PAYMENT-FAILED',
  'PAYMENT-LINK-FOLLOWED',
  'PAYMENT-PROCESSING',
  'PAYMENT-REVERSED', // undocumented: an unknown event type
] as const;
const kinds: Kind[] = ['payment-request', 'payment', 'unknown'];
const documented = ['CREATED', 'SCHEDULED', 'ACTIVE', 'PAID', 'SETTLED', 'FAILED', 'CANCELLED'];
const statuses = [
  ...documented,
  'ACCEPTED',
  'READY',
  'paid',
  'Paid',
  'accepted',
  'failed',
  'SOMETHING-NEW',
  undefined,
];

/** A real wire event of this type, kind and status (`undefined`: no status field). */
function wireEvent(eventType: string, kind: Kind, status: string | undefined, id: string) {
  const resource: Record<string, unknown> = {};
  if (status === undefined) resource.status = undefined;
  if (kind === 'unknown') {
    // No resourceType and neither payer nor recipient: core cannot tell the kind.
    resource.payer = undefined;
    return createEvent({ eventType, id, status, resourceType: null, resource });
  }
  return createEvent({ eventType, kind, id, status, resource });
}

/**
 * The rules, as README and Clik2pay's guidance state them: fulfil on a payment
 * request's PAYMENT-COMPLETED with status PAID and not before; a refund is a
 * Payments-API PAYMENT-COMPLETED with status ACCEPTED; statuses in any case.
 */
function expectedTarget(
  eventType: string,
  kind: Kind,
  status: string | undefined,
): OrderState | undefined {
  const upper = status?.toUpperCase();
  if (kind === 'payment') {
    return eventType === 'PAYMENT-COMPLETED' && upper === 'ACCEPTED' ? 'refunded' : undefined;
  }
  if (kind !== 'payment-request') return undefined;
  switch (eventType) {
    case 'PAYMENT-COMPLETED':
      return upper === 'PAID' ? 'paid' : undefined;
    case 'PAYMENT-FAILED':
      return 'failed';
    case 'PAYMENT-PROCESSING':
      return 'processing';
    case 'PAYMENT-LINK-FOLLOWED':
      return 'link-followed';
    default:
      return undefined;
  }
}

const matrix = eventTypes.flatMap((eventType) =>
  kinds.flatMap((kind) => statuses.map((status) => ({ eventType, kind, status }))),
);

describe('the mapping from a parsed event to an order state', () => {
  it(`covers every event type x kind x status (${matrix.length} cases) on a new order`, async () => {
    let fulfilled = 0;
    for (const { eventType, kind, status } of matrix) {
      const app = createApp();
      const id = crypto.randomUUID();
      const body = createBody(wireEvent(eventType, kind, status, id));
      // Core's own parser agrees on the kind the case is about.
      const parsed = parseEvents(JSON.stringify(body));
      expect(parsed.success && parsed.data[0]?.kind).toBe(kind);
      const label = `${eventType} ${kind} ${String(status)}`;
      expect(await app.deliver(body), label).toBe(200);
      expect(app.seen, label).toHaveLength(1);
      const target = expectedTarget(eventType, kind, status);
      expect(app.seen[0]?.target, label).toBe(target);
      const order = await app.book.get(id);
      expect(order?.state, label).toBe(target ?? 'new');
      expect(order?.fulfilments, label).toBe(target === 'paid' ? 1 : 0);
      if (target === 'paid') fulfilled++;
    }
    // PAID, paid, Paid: the three spellings of the one fulfilling case.
    expect(fulfilled).toBe(3);
  });

  it('fulfils on PAYMENT-COMPLETED with status PAID only, never on a followed link, whatever its status', async () => {
    for (const status of statuses) {
      const app = createApp();
      const id = crypto.randomUUID();
      await app.deliver(
        createBody(wireEvent('PAYMENT-LINK-FOLLOWED', 'payment-request', status, id)),
      );
      expect(await app.book.get(id), String(status)).toMatchObject({
        state: 'link-followed',
        fulfilments: 0,
      });
    }
    for (const status of statuses.filter((s) => s?.toUpperCase() !== 'PAID')) {
      const app = createApp();
      const id = crypto.randomUUID();
      await app.deliver(createBody(wireEvent('PAYMENT-COMPLETED', 'payment-request', status, id)));
      expect(await app.book.get(id), String(status)).toMatchObject({
        state: 'new',
        fulfilments: 0,
      });
    }
  });

  it('never fulfils for a Payments-API resource, even with status PAID, and refunds only on ACCEPTED', async () => {
    for (const eventType of eventTypes) {
      for (const status of statuses) {
        const app = createApp();
        const orderId = crypto.randomUUID();
        const refund = createEvent({
          kind: 'payment',
          eventType,
          status,
          resource: { paymentRequestId: orderId },
        });
        if (status === undefined) refund.resource.status = undefined as never;
        await app.deliver(createBody(refund));
        const refunded = eventType === 'PAYMENT-COMPLETED' && status?.toUpperCase() === 'ACCEPTED';
        expect(await app.book.get(orderId), `${eventType} ${String(status)}`).toMatchObject({
          state: refunded ? 'refunded' : 'new',
          fulfilments: 0,
        });
      }
    }
  });

  it('compares statuses without regard to case: paid fulfils, accepted refunds', async () => {
    const app = createApp();
    const id = crypto.randomUUID();
    expect(await app.deliver(createBody(createEvent({ id, status: 'paid' })))).toBe(200);
    expect(await app.book.get(id)).toMatchObject({ state: 'paid', fulfilments: 1 });
    expect(
      await app.deliver(
        createBody(
          createEvent({ kind: 'payment', status: 'Accepted', resource: { paymentRequestId: id } }),
        ),
      ),
    ).toBe(200);
    expect(await app.book.get(id)).toMatchObject({ state: 'refunded', fulfilments: 1 });
  });

  it("reads a refund's payment request from paymentRequestId, and its own id otherwise", async () => {
    const app = createApp();
    const linked = createEvent({ kind: 'payment', resource: { paymentRequestId: 'pr-linked' } });
    const alone = createEvent({ kind: 'payment' });
    await app.deliver(createBody([linked, alone]));
    expect(app.seen.map((e) => e.orderId)).toEqual(['pr-linked', alone.resource.id]);
  });

  it('hands the order book the fields the fulfilment call needs', async () => {
    const app = createApp();
    const id = crypto.randomUUID();
    await app.deliver(
      createBody(createEvent({ id, amount: 12.5, resource: { merchantTransactionId: 'INV-7' } })),
    );
    expect(app.seen[0]).toMatchObject({
      key: `payment-request:${id}:PAYMENT-COMPLETED:PAID`,
      orderId: id,
      amount: 12.5,
      merchantTransactionId: 'INV-7',
      status: 'PAID',
      target: 'paid',
    });
  });
});
