import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  bodySchema,
  eventSchema,
  eventTypes,
  isKnownEvent,
  keyUnsafeMessage,
  resolveResourceKind,
} from '../src/events.js';
import { isWireEvent, parseEvents } from '../src/parse-events.js';

// The body Clik2pay's documentation shows, values verbatim.
const documentedExample = `[
  {
    "message": "The payer successfully completed the transaction.",
    "eventType": "PAYMENT-COMPLETED",
    "resourceType": "payment-request",
    "resource": {
      "id": "8ecd810d-c0e2-40a6-8ab9-da12d72a3d6a",
      "merchantTransactionId": null,
      "amount": 1.0,
      "type": "EBILL",
      "status": "PAID",
      "deliveryMode": "SMS",
      "merchant": {
        "id": "a7815ec3-72cd-4efe-b809-28f14501a5d3",
        "name": "Merchant name"
      },
      "payer": {
        "name": "firstName lastName"
      }
    }
  }
]`;

const SECRET = 'sk_live_SECRET_MARKER_7f3a9c';

function event(overrides: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    eventType: 'PAYMENT-COMPLETED',
    resourceType: 'payment-request',
    resource: { id: 'pr-1', status: 'PAID', payer: { name: 'A' } },
    ...overrides,
  };
}

function parseOne(value: unknown) {
  const result = parseEvents(JSON.stringify(value));
  if (!result.success) throw new Error(`expected success, got ${JSON.stringify(result.error)}`);
  expect(result.data).toHaveLength(1);
  return result.data[0] as NonNullable<(typeof result.data)[0]>;
}

describe('parseEvents', () => {
  it('parses the documented example to a typed PAID payment-request event', () => {
    const result = parseEvents(documentedExample);
    expect(result.success).toBe(true);
    if (!result.success) return;
    expect(result.batch).toBe(true);
    expect(result.data).toHaveLength(1);
    const [first] = result.data;
    expect(first).toMatchObject({
      known: true,
      eventType: 'PAYMENT-COMPLETED',
      kind: 'payment-request',
      resourceType: 'payment-request',
      message: 'The payer successfully completed the transaction.',
    });
    expect(first?.resource).toEqual({
      id: '8ecd810d-c0e2-40a6-8ab9-da12d72a3d6a',
      merchantTransactionId: null,
      amount: 1,
      type: 'EBILL',
      status: 'PAID',
      deliveryMode: 'SMS',
      merchant: { id: 'a7815ec3-72cd-4efe-b809-28f14501a5d3', name: 'Merchant name' },
      payer: { name: 'firstName lastName' },
    });
    expect(first?.raw).toEqual(JSON.parse(documentedExample)[0]);
  });

  it('parses the same example given as UTF-8 bytes', () => {
    const result = parseEvents(new TextEncoder().encode(documentedExample));
    expect(result.success && result.data[0]?.resource.status).toBe('PAID');
  });

  it('accepts a single object as well as an array', () => {
    const result = parseEvents(JSON.stringify(event()));
    expect(result).toMatchObject({ success: true, batch: false });
    expect(result.success && result.data.map((e) => e.resource.id)).toEqual(['pr-1']);
  });

  it.each(eventTypes)('knows the documented event type %s', (eventType) => {
    const parsed = parseOne(event({ eventType }));
    expect(parsed.known).toBe(true);
    expect(parsed.eventType).toBe(eventType);
  });

  it('accepts an unknown eventType, marked as not known', () => {
    const parsed = parseOne(event({ eventType: 'PAYMENT-REFUNDED' }));
    expect(parsed.known).toBe(false);
    expect(parsed.eventType).toBe('PAYMENT-REFUNDED');
  });

  it('is case-sensitive on eventType: a lower-case spelling is unknown, not rejected', () => {
    const parsed = parseOne(event({ eventType: 'payment-completed' }));
    expect(parsed.known).toBe(false);
  });

  it.each([
    ['payment-request', 'payment-request'],
    ['PAYMENT-REQUEST', 'payment-request'],
    ['Payment Requests API', 'payment-request'],
    ['payment requests api', 'payment-request'],
    ['PAYMENT REQUESTS API', 'payment-request'],
    ['payment', 'payment'],
    ['Payment', 'payment'],
    ['Payments API', 'payment'],
    ['PAYMENTS API', 'payment'],
    ['payments api', 'payment'],
  ])('normalises resourceType %j to %s whatever the shape says', (resourceType, kind) => {
    // The shape contradicts the declared type on purpose: the declared type wins.
    const resource =
      kind === 'payment'
        ? { id: 'x', status: 'ACCEPTED', payer: { name: 'A' } }
        : { id: 'x', status: 'PAID', recipient: { email: 'a@b.c' } };
    const parsed = parseOne(event({ resourceType, resource }));
    expect(parsed.kind).toBe(kind);
    expect(parsed.resourceType).toBe(resourceType);
  });

  it.each([
    ['missing resourceType, payer', undefined, { payer: { name: 'A' } }, 'payment-request'],
    ['missing resourceType, recipient', undefined, { recipient: { email: 'a@b.c' } }, 'payment'],
    ['unknown resourceType, payer', 'Invoices API', { payer: {} }, 'payment-request'],
    ['unknown resourceType, recipient', 'Refunds', { recipient: {} }, 'payment'],
    ['both payer and recipient', undefined, { payer: {}, recipient: {} }, 'unknown'],
    ['neither', 'Something Else', {}, 'unknown'],
    ['payer that is not an object', undefined, { payer: 'A' }, 'unknown'],
    ['recipient that is an array', undefined, { recipient: [] }, 'unknown'],
  ])('falls back to the shape: %s', (_name, resourceType, fields, kind) => {
    const body: Record<string, unknown> = {
      eventType: 'PAYMENT-COMPLETED',
      resource: { id: 'x', ...fields },
    };
    if (resourceType !== undefined) body.resourceType = resourceType;
    expect(parseOne(body).kind).toBe(kind);
  });

  it('exposes the resolver on its own', () => {
    expect(resolveResourceKind('Payment Requests API', {})).toBe('payment-request');
    expect(resolveResourceKind('Payments API', {})).toBe('payment');
    expect(resolveResourceKind(undefined, { recipient: {} })).toBe('payment');
    expect(resolveResourceKind('', {})).toBe('unknown');
  });

  it('tells documented events from unknown ones with isKnownEvent', () => {
    const result = parseEvents(
      '[{"eventType":"PAYMENT-FAILED","resource":{"id":"a"}},{"eventType":"PAYMENT-NEW","resource":{"id":"b"}}]',
    );
    expect(result.success && result.data.map(isKnownEvent)).toEqual([true, false]);
  });

  it('drops only a trailing "API" from a resource type', () => {
    expect(resolveResourceKind('Payment-API', {})).toBe('payment');
    expect(resolveResourceKind('api-payment', {})).toBe('unknown');
  });

  it('refuses a non-finite amount (1e999 reads as Infinity)', () => {
    expect(parseEvents('{"eventType":"X","resource":{"id":"1","amount":1e999}}')).toEqual({
      success: false,
      error: {
        code: 'INVALID_PAYLOAD',
        issues: [{ path: 'resource.amount', message: 'expected number' }],
      },
    });
  });

  it('accepts key parts at their bounds, and paired surrogates or combining marks in an id', () => {
    const longest = { id: 'i'.repeat(256), status: 's'.repeat(64) };
    expect(parseOne(event({ eventType: 'e'.repeat(64), resource: longest })).resource).toEqual(
      longest,
    );
    for (const id of ['pr-\ud83d\ude00', 'caf\u00e9', 'cafe\u0301', 'tab\u00a0space']) {
      expect(parseOne(event({ resource: { id } })).resource.id).toBe(id);
    }
  });

  it('lists every distinct issue, with its path', () => {
    const result = parseEvents('{"eventType":"","resource":{"id":"","status":5}}');
    expect(result).toEqual({
      success: false,
      error: {
        code: 'INVALID_PAYLOAD',
        issues: [
          { path: 'eventType', message: 'must not be empty' },
          { path: 'resource.id', message: 'must not be empty' },
          { path: 'resource.status', message: 'expected string' },
        ],
      },
    });
  });

  it('parses an array of several events in order', () => {
    const body = [
      event({ resource: { id: 'a', status: 'PAID', payer: {} } }),
      event({
        eventType: 'PAYMENT-COMPLETED',
        resourceType: 'Payments API',
        resource: { id: 'b', status: 'ACCEPTED', recipient: { email: 'x@y.z' } },
      }),
      event({ eventType: 'PAYMENT-LINK-FOLLOWED', resource: { id: 'c', status: 'ACTIVE' } }),
      event({ eventType: 'SOMETHING-NEW', resource: { id: 'd' } }),
    ];
    const result = parseEvents(JSON.stringify(body));
    expect(result.success).toBe(true);
    if (!result.success) return;
    expect(result.batch).toBe(true);
    expect(result.data.map((e) => [e.eventType, e.kind, e.resource.id, e.known])).toEqual([
      ['PAYMENT-COMPLETED', 'payment-request', 'a', true],
      ['PAYMENT-COMPLETED', 'payment', 'b', true],
      ['PAYMENT-LINK-FOLLOWED', 'payment-request', 'c', true],
      ['SOMETHING-NEW', 'payment-request', 'd', false],
    ]);
  });

  it('keeps fields it does not know, at the top level and in the resource', () => {
    const parsed = parseOne(
      event({
        deliveredAt: '2024-01-01T00:00:00Z',
        resource: {
          id: 'pr-1',
          status: 'PAID',
          invoiceNumber: 'INV-9',
          dueDate: '2024-02-01',
          payer: { name: 'A', email: 'a@example.com' },
          paymentLink: { url: 'https://example.com/p' },
        },
      }),
    );
    expect(parsed.resource.invoiceNumber).toBe('INV-9');
    expect(parsed.resource.dueDate).toBe('2024-02-01');
    expect(parsed.resource.paymentLink).toEqual({ url: 'https://example.com/p' });
    expect(parsed.resource.payer).toEqual({ name: 'A', email: 'a@example.com' });
    expect(parsed.raw.deliveredAt).toBe('2024-01-01T00:00:00Z');
  });

  it('accepts unknown statuses and resource types as they are', () => {
    const parsed = parseOne(
      event({ resourceType: 'Wallets API', resource: { id: 'w', status: 'FROZEN' } }),
    );
    expect(parsed.kind).toBe('unknown');
    expect(parsed.resourceType).toBe('Wallets API');
    expect(parsed.resource.status).toBe('FROZEN');
  });

  it.each([null, 42, { text: 'x' }])(
    'reads a message or resourceType of another type (%j) as absent, not as a 422',
    (value) => {
      const parsed = parseOne(
        event({ message: value, resourceType: value, resource: { id: 'x', recipient: {} } }),
      );
      expect(parsed.message).toBeUndefined();
      expect(parsed.resourceType).toBeUndefined();
      expect(parsed.kind).toBe('payment');
    },
  );

  it('leaves optional fields undefined when absent', () => {
    const parsed = parseOne({ eventType: 'PAYMENT-FAILED', resource: { id: 'x' } });
    expect(parsed.message).toBeUndefined();
    expect(parsed.resourceType).toBeUndefined();
    expect(parsed.resource.status).toBeUndefined();
  });

  describe('invalid JSON', () => {
    it.each([
      ['empty string', ''],
      ['truncated', '{"eventType":'],
      ['not JSON', `password=${SECRET}`],
      ['a NUL character', '\u0000'],
    ])('rejects %s with INVALID_JSON and no issues', (_name, body) => {
      expect(parseEvents(body)).toEqual({
        success: false,
        error: { code: 'INVALID_JSON', issues: [] },
      });
    });

    it('rejects invalid UTF-8 bytes with INVALID_JSON', () => {
      const json = new TextEncoder().encode(JSON.stringify(event()));
      // A lone continuation byte inside the message, and an overlong encoding.
      for (const bad of [[0x80], [0xc0, 0xaf], [0xed, 0xa0, 0x80], [0xff]]) {
        const bytes = new Uint8Array([...json.slice(0, 10), ...bad, ...json.slice(10)]);
        expect(parseEvents(bytes)).toEqual({
          success: false,
          error: { code: 'INVALID_JSON', issues: [] },
        });
      }
    });

    it('rejects empty bytes with INVALID_JSON', () => {
      expect(parseEvents(new Uint8Array(0))).toMatchObject({
        success: false,
        error: { code: 'INVALID_JSON' },
      });
    });
  });

  describe('invalid payload', () => {
    const cases: Array<[string, unknown, Array<{ path: string; message: string }>]> = [
      ['a string', SECRET, [{ path: '', message: 'expected object' }]],
      ['a number', 42, [{ path: '', message: 'expected object' }]],
      ['null', null, [{ path: '', message: 'expected object' }]],
      ['an empty array', [], [{ path: '', message: 'expected at least one event' }]],
      [
        'no eventType',
        { resource: { id: 'x' }, note: SECRET },
        [{ path: 'eventType', message: 'required string' }],
      ],
      [
        'a numeric eventType',
        { eventType: 7, resource: { id: SECRET } },
        [{ path: 'eventType', message: 'expected string' }],
      ],
      [
        'an empty eventType',
        { eventType: '', resource: { id: SECRET } },
        [{ path: 'eventType', message: 'must not be empty' }],
      ],
      ['no resource', { eventType: SECRET }, [{ path: 'resource', message: 'required object' }]],
      [
        'a resource without id',
        { eventType: 'PAYMENT-COMPLETED', resource: { status: SECRET } },
        [{ path: 'resource.id', message: 'required string' }],
      ],
      [
        'a numeric resource id',
        { eventType: 'PAYMENT-COMPLETED', resource: { id: 12345 } },
        [{ path: 'resource.id', message: 'expected string' }],
      ],
      [
        'a non-string status',
        { eventType: 'PAYMENT-COMPLETED', resource: { id: SECRET, status: { v: SECRET } } },
        [{ path: 'resource.status', message: 'expected string' }],
      ],
      [
        'a bad second event in an array',
        [event(), { eventType: 'PAYMENT-COMPLETED', resource: { id: 1, secret: SECRET } }],
        [{ path: '[1].resource.id', message: 'expected string' }],
      ],
      ['an array of strings', [SECRET], [{ path: '[0]', message: 'expected object' }]],
      [
        'a 60,000-character resource id',
        { eventType: 'PAYMENT-COMPLETED', resource: { id: SECRET.repeat(2200) } },
        [{ path: 'resource.id', message: 'must be at most 256 characters' }],
      ],
      [
        'an eventType over 64 characters',
        { eventType: SECRET.repeat(3), resource: { id: 'pr-1' } },
        [{ path: 'eventType', message: 'must be at most 64 characters' }],
      ],
      [
        'a status over 64 characters',
        { eventType: 'PAYMENT-COMPLETED', resource: { id: 'pr-1', status: SECRET.repeat(3) } },
        [{ path: 'resource.status', message: 'must be at most 64 characters' }],
      ],
      ...(['\u0000', '\n', '\u007f', '\ud800', '\udfff'] as const).map(
        (odd): [string, unknown, Array<{ path: string; message: string }>] => [
          `a resource id holding U+${odd.charCodeAt(0).toString(16).padStart(4, '0')}`,
          { eventType: 'PAYMENT-COMPLETED', resource: { id: `${SECRET}${odd}` } },
          [{ path: 'resource.id', message: keyUnsafeMessage }],
        ],
      ),
      [
        'an eventType holding a lone surrogate',
        { eventType: 'PAYMENT-COMPLETED\ud800', resource: { id: SECRET } },
        [{ path: 'eventType', message: keyUnsafeMessage }],
      ],
      [
        'a status holding NUL',
        { eventType: 'PAYMENT-COMPLETED', resource: { id: SECRET, status: 'PAID\u0000' } },
        [{ path: 'resource.status', message: keyUnsafeMessage }],
      ],
    ];

    it.each(cases)('rejects %s with the issues and without the input', (_name, body, issues) => {
      const result = parseEvents(JSON.stringify(body));
      expect(result).toEqual({ success: false, error: { code: 'INVALID_PAYLOAD', issues } });
      expect(JSON.stringify(result)).not.toContain(SECRET);
      expect(JSON.stringify(result)).not.toContain('12345');
    });

    it('caps the issues of a long bad array and never echoes input', () => {
      const body = Array.from({ length: 100 }, (_, i) => ({ eventType: i, resource: SECRET }));
      const result = parseEvents(JSON.stringify(body));
      expect(result.success).toBe(false);
      if (result.success) return;
      expect(result.error.code).toBe('INVALID_PAYLOAD');
      expect(result.error.issues.length).toBeGreaterThan(0);
      expect(result.error.issues.length).toBeLessThanOrEqual(20);
      expect(result.error.issues[0]).toEqual({ path: '[0].eventType', message: 'expected string' });
      expect(JSON.stringify(result)).not.toContain(SECRET);
    });
  });

  describe('properties', () => {
    it('never throws on arbitrary strings', () => {
      fc.assert(
        fc.property(fc.string({ unit: 'binary', maxLength: 200 }), (text) => {
          const result = parseEvents(text);
          expect(typeof result.success).toBe('boolean');
        }),
        { numRuns: 500 },
      );
    });

    it('never throws on arbitrary bytes', () => {
      fc.assert(
        fc.property(fc.uint8Array({ maxLength: 200 }), (bytes) => {
          const result = parseEvents(bytes);
          expect(typeof result.success).toBe('boolean');
        }),
        { numRuns: 500 },
      );
    });

    it('gives at least one issue for every JSON value it rejects as a payload', () => {
      fc.assert(
        fc.property(fc.jsonValue({ maxDepth: 4 }), (value) => {
          const result = parseEvents(JSON.stringify(value));
          if (!result.success && result.error.code === 'INVALID_PAYLOAD') {
            expect(result.error.issues.length).toBeGreaterThan(0);
          }
        }),
        { numRuns: 500 },
      );
    });

    // parseEvents accepts with a hand-written check for speed; it must accept
    // exactly what the published zod schema accepts.
    const anything = fc.jsonValue({ maxDepth: 2 });
    const field = <T>(valid: fc.Arbitrary<T>) =>
      fc.option(fc.oneof(valid, valid, anything), { nil: undefined });
    // Strings at the edges of a key part: its length bound, controls, lone surrogates.
    const keyEdge = (max: number) =>
      fc.oneof(
        fc.constantFrom(
          'x'.repeat(max),
          'x'.repeat(max + 1),
          'a\u0000b',
          'a\u007f',
          '\ud83d\ude00',
        ),
        fc.constantFrom('x\ud800', '\udc00x', 'a\u001fb', '\u00e9\u0301'),
        fc.string({ unit: 'binary', maxLength: 4 }),
      );
    const nearEvent = fc
      .record(
        {
          eventType: field(fc.oneof(fc.constantFrom('PAYMENT-COMPLETED', 'X', ''), keyEdge(64))),
          message: field(fc.string()),
          resourceType: field(fc.constantFrom('payment', 'Payments API', '')),
          resource: fc.oneof(
            anything,
            fc.record(
              {
                id: field(fc.oneof(fc.constantFrom('r1', ''), keyEdge(256))),
                status: field(fc.oneof(fc.constantFrom('PAID', ''), keyEdge(64))),
                amount: field(fc.double()),
                merchantTransactionId: field(fc.oneof(fc.string(), fc.constant(null))),
                payer: field(fc.object()),
              },
              { requiredKeys: [] },
            ),
          ),
        },
        { requiredKeys: [] },
      )
      // Through JSON, as a delivery would arrive (drops undefined, turns NaN to null).
      .map((value) => JSON.parse(JSON.stringify(value)) as unknown);

    it('accepts exactly what eventSchema accepts', () => {
      fc.assert(
        fc.property(fc.oneof(nearEvent, anything), (value) => {
          expect(isWireEvent(value)).toBe(eventSchema.safeParse(value).success);
        }),
        { numRuns: 2000 },
      );
    });

    it('accepts a body exactly when bodySchema does', () => {
      fc.assert(
        fc.property(fc.oneof(nearEvent, fc.array(nearEvent, { maxLength: 3 })), (value) => {
          expect(parseEvents(JSON.stringify(value)).success).toBe(
            bodySchema.safeParse(value).success,
          );
        }),
        { numRuns: 1000 },
      );
    });

    it('never echoes a marker placed anywhere in an invalid event', () => {
      const marker = fc.constant(SECRET);
      const badEvent = fc.record({
        eventType: fc.oneof(marker, fc.integer(), fc.constant(null)),
        resource: fc.oneof(
          marker,
          fc.record({ id: fc.oneof(fc.integer(), fc.constant(null)), status: marker }),
          fc.record({ id: marker, status: fc.integer() }),
        ),
        [SECRET]: marker,
      });
      fc.assert(
        fc.property(fc.oneof(badEvent, fc.array(badEvent, { minLength: 1 })), (body) => {
          const result = parseEvents(JSON.stringify(body));
          expect(result.success).toBe(false);
          expect(JSON.stringify(result)).not.toContain(SECRET);
        }),
        { numRuns: 300 },
      );
    });
  });
});
