import { eventTypes } from '@c2p/core';
import { bodySchema, resolveResourceKind } from '@c2p/core/kit';
import { describe, expect, it } from 'vitest';
import { createBody } from '../src/create-body.js';
import type { FactoryResourceKind } from '../src/create-event.js';
import {
  createEvent,
  defaultStatus,
  documentedExample,
  resourceTypeSpellings,
} from '../src/create-event.js';

const kinds: FactoryResourceKind[] = ['payment-request', 'payment'];
const uuid = /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/;

describe('createEvent', () => {
  for (const eventType of eventTypes) {
    for (const kind of kinds) {
      it(`builds ${eventType} about a ${kind} that core's bodySchema accepts in both shapes`, () => {
        const event = createEvent({ eventType, kind });
        for (const body of [createBody(event), createBody(event, { shape: 'object' })]) {
          const parsed = bodySchema.safeParse(JSON.parse(JSON.stringify(body)));
          expect(parsed.success, JSON.stringify(parsed.error?.issues)).toBe(true);
        }
        expect(event.eventType).toBe(eventType);
        expect(event.resource.status).toBe(defaultStatus(eventType, kind));
        expect(resolveResourceKind(event.resourceType, event.resource)).toBe(kind);
        // With no resourceType at all, the shape alone still tells the kind.
        const bare = createEvent({ eventType, kind, resourceType: null });
        expect(bare).not.toHaveProperty('resourceType');
        expect(resolveResourceKind(undefined, bare.resource)).toBe(kind);
      });
    }
  }

  it('starts from the documented example', () => {
    const [example] = documentedExample();
    const event = createEvent();
    expect({ ...event, resource: { ...event.resource, id: example?.resource.id } }).toEqual(
      example,
    );
  });

  it('gives each event a fresh UUID', () => {
    const ids = new Set(Array.from({ length: 50 }, () => createEvent().resource.id));
    expect(ids.size).toBe(50);
    for (const id of ids) expect(id).toMatch(uuid);
  });

  it('uses the documented default statuses', () => {
    expect(createEvent().resource.status).toBe('PAID');
    expect(createEvent({ kind: 'payment' }).resource.status).toBe('ACCEPTED');
    expect(createEvent({ eventType: 'PAYMENT-FAILED' }).resource.status).toBe('FAILED');
    expect(createEvent({ eventType: 'PAYMENT-LINK-FOLLOWED' }).resource.status).toBe('ACTIVE');
    expect(createEvent({ eventType: 'PAYMENT-PROCESSING' }).resource.status).toBe('ACTIVE');
  });

  it('builds a refund with the Payments API fields', () => {
    const refund = createEvent({
      kind: 'payment',
      resource: { displayMessage: 'Refund', invoiceNumber: 'INV-1', businessUnit: 'web' },
    });
    expect(refund.resourceType).toBe('payment');
    expect(refund.resource).toMatchObject({
      merchantTransactionId: null,
      amount: 1,
      status: 'ACCEPTED',
      merchant: { id: expect.any(String), name: expect.any(String) },
      recipient: { email: expect.any(String), mobileNumber: expect.any(String) },
      displayMessage: 'Refund',
      invoiceNumber: 'INV-1',
      businessUnit: 'web',
    });
    expect(refund.resource).not.toHaveProperty('payer');
  });

  it('applies overrides, extra fields and undocumented event types', () => {
    const event = createEvent({
      eventType: 'PAYMENT-SOMETHING-NEW',
      id: 'abc',
      status: 'SETTLED',
      amount: 12.34,
      resourceType: 'Payment Requests API',
      message: null,
      resource: { invoiceNumber: 'INV-9' },
      fields: { apiVersion: 2 },
    });
    expect(event).toEqual({
      eventType: 'PAYMENT-SOMETHING-NEW',
      resourceType: 'Payment Requests API',
      apiVersion: 2,
      resource: expect.objectContaining({
        id: 'abc',
        status: 'SETTLED',
        amount: 12.34,
        invoiceNumber: 'INV-9',
      }),
    });
    expect(bodySchema.safeParse([event]).success).toBe(true);
  });

  it('resolves every documented resourceType spelling to its kind', () => {
    for (const kind of kinds) {
      for (const spelling of resourceTypeSpellings[kind]) {
        const event = createEvent({ kind, resourceType: spelling });
        expect(resolveResourceKind(event.resourceType, event.resource)).toBe(kind);
      }
    }
  });

  it('rejects a bad kind or amount with a message naming the option', () => {
    expect(() => createEvent({ kind: 'refund' as FactoryResourceKind })).toThrow(/options\.kind/);
    expect(() => createEvent({ amount: Number.NaN })).toThrow(/options\.amount/);
  });
});

describe('createBody', () => {
  it('wraps events as an array by default, as documented', () => {
    const a = createEvent();
    const b = createEvent({ kind: 'payment' });
    expect(createBody(a)).toEqual([a]);
    const several = createBody([a, b]);
    expect(several).toEqual([a, b]);
    expect(bodySchema.safeParse(several).success).toBe(true);
  });

  it('sends one bare event as an object, and refuses several', () => {
    const a = createEvent();
    expect(createBody(a, { shape: 'object' })).toBe(a);
    expect(() => createBody([a, a], { shape: 'object' })).toThrow(/exactly one event, got 2/);
    expect(() => createBody([], { shape: 'object' })).toThrow(/got 0/);
  });
});
