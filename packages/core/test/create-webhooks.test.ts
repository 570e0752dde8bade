import { describe, expect, it, vi } from 'vitest';
import { encodeBasicAuth } from '../src/basic-auth.js';
import { C2pError, type C2pErrorCode, errorCodes } from '../src/errors.js';
import type { C2pEvent } from '../src/events.js';
import type {
  ClaimResult,
  IdempotencyStore,
  TransactionalIdempotencyStore,
} from '../src/idempotency-store.js';
import {
  createWebhooks,
  type DeliveryReport,
  defaultIdempotencyKey,
  type SyncWebhooksOptions,
} from '../src/index.js';
import { createMemoryStore } from '../src/memory-store.js';
import { parseEvents } from '../src/parse-events.js';
import type { WebhookBody, WebhookRequest, WebhookResponse } from '../src/webhook-request.js';

const USERNAME = 'clik2pay';
const PASSWORD = 'hunter2:SECRET_PASSWORD_MARKER';
const AUTH = encodeBasicAuth(USERNAME, PASSWORD);
const PEER = '3.99.39.224';
const MARKER = 'INPUT_SECRET_MARKER_5b1e';
const KEY = 'payment-request:8ecd810d-c0e2-40a6-8ab9-da12d72a3d6a:PAYMENT-COMPLETED:PAID';

const JSON_HEADERS = {
  'content-type': 'application/json; charset=utf-8',
  'cache-control': 'no-store',
};

interface RequestInit {
  method?: string;
  headers?: Record<string, string>;
  body?: WebhookBody;
  peer?: string | null;
}

function request(init: RequestInit = {}): WebhookRequest {
  const headers: Record<string, string> = { authorization: AUTH, ...init.headers };
  return {
    method: init.method ?? 'POST',
    header: (name) => headers[name],
    body: 'body' in init ? init.body : JSON.stringify(paymentRequestEvent()),
    peerAddress: init.peer === undefined ? PEER : init.peer,
  };
}

function paymentRequestEvent(
  id = '8ecd810d-c0e2-40a6-8ab9-da12d72a3d6a',
  overrides: Record<string, unknown> = {},
): Record<string, unknown> {
  return {
    message: 'The payer successfully completed the transaction.',
    eventType: 'PAYMENT-COMPLETED',
    resourceType: 'payment-request',
    resource: {
      id,
      merchantTransactionId: null,
      amount: 1.0,
      type: 'EBILL',
      status: 'PAID',
      deliveryMode: 'SMS',
      merchant: { id: 'a7815ec3-72cd-4efe-b809-28f14501a5d3', name: 'Merchant name' },
      payer: { name: 'firstName lastName' },
    },
    ...overrides,
  };
}

function setup<S extends IdempotencyStore = IdempotencyStore>(
  options: Partial<SyncWebhooksOptions<S>> = {},
) {
  const reports: DeliveryReport[] = [];
  const errors: Array<{ error: C2pError; key: string | undefined }> = [];
  const webhooks = createWebhooks<S>({
    credentials: { username: USERNAME, password: PASSWORD },
    allowedIps: ['production'],
    ...options,
  } as SyncWebhooksOptions<S>)
    .onDelivery((report) => reports.push(structuredClone(report)))
    .onError((error, context) => errors.push({ error, key: context.key }));
  return { webhooks, reports, errors };
}

function errorBody(code: C2pErrorCode, extra: Record<string, unknown> = {}): unknown {
  return { error: { code, message: errorCodes[code].message, ...extra } };
}

function expectError(
  response: WebhookResponse,
  code: C2pErrorCode,
  headers: Record<string, string> = {},
): void {
  expect(response.status).toBe(errorCodes[code].status);
  expect(response.headers).toEqual({ ...JSON_HEADERS, ...headers });
  expect(JSON.parse(response.body)).toEqual(errorBody(code));
  expectNoLeak(response);
}

function expectNoLeak(response: WebhookResponse): void {
  const text = JSON.stringify(response);
  expect(text).not.toContain(MARKER);
  expect(text).not.toContain('SECRET_PASSWORD_MARKER');
  expect(text).not.toContain(AUTH.slice(6));
}

/** A lazy body reader that records whether it was called. */
function lazyBody(body: string) {
  const reader = vi.fn(async (_maxBytes: number) => body);
  return reader;
}

describe('createWebhooks().handle()', () => {
  describe('200', () => {
    it('processes the documented example and answers a JSON summary', async () => {
      const { webhooks, reports } = setup();
      const seen: C2pEvent[] = [];
      webhooks.on('PAYMENT-COMPLETED', (event) => {
        seen.push(event);
      });
      const response = await webhooks.handle(
        request({ body: JSON.stringify([paymentRequestEvent()]) }),
      );
      expect(response).toEqual({
        status: 200,
        headers: JSON_HEADERS,
        body: '{"received":1,"processed":1,"duplicates":0}',
      });
      expect(seen).toHaveLength(1);
      expect(seen[0]).toMatchObject({ kind: 'payment-request', resource: { status: 'PAID' } });
      expect(reports).toEqual([
        {
          status: 200,
          code: undefined,
          step: 'events',
          clientIp: PEER,
          events: [
            {
              eventType: 'PAYMENT-COMPLETED',
              kind: 'payment-request',
              resourceId: '8ecd810d-c0e2-40a6-8ab9-da12d72a3d6a',
              status: 'PAID',
              key: KEY,
              outcome: 'processed',
            },
          ],
        },
      ]);
    });

    it('gives every response a headers object of its own', async () => {
      // Some servers (@hono/node-server) write Content-Length into the object they get.
      const { webhooks } = setup();
      const first = await webhooks.handle(request());
      (first.headers as Record<string, string>)['content-length'] = '1';
      const second = await webhooks.handle(request());
      const refused = await webhooks.handle(request({ method: 'GET' }));
      expect(second.headers).toEqual(JSON_HEADERS);
      expect(refused.headers).not.toHaveProperty('content-length');
    });

    it('accepts the method in any case, and bytes as well as strings', async () => {
      const { webhooks } = setup();
      const body = new TextEncoder().encode(JSON.stringify(paymentRequestEvent('a')));
      expect((await webhooks.handle(request({ method: 'post', body }))).status).toBe(200);
    });

    it('answers 413 TOO_MANY_EVENTS above maxEvents (default 100), after the schema, running no handler', async () => {
      const { webhooks, reports } = setup();
      const handler = vi.fn();
      webhooks.onAny(handler);
      const body = (count: number): string =>
        JSON.stringify(Array.from({ length: count }, (_, i) => paymentRequestEvent(`pr-${i}`)));
      expectError(await webhooks.handle(request({ body: body(101) })), 'TOO_MANY_EVENTS');
      expect(reports.at(-1)).toMatchObject({ step: 'payload', code: 'TOO_MANY_EVENTS' });
      expect(handler).not.toHaveBeenCalled();
      // An invalid body says what is wrong with it, whatever its length.
      const invalid = JSON.stringify(Array.from({ length: 101 }, () => ({ eventType: 'X' })));
      expect((await webhooks.handle(request({ body: invalid }))).status).toBe(422);
      expect((await webhooks.handle(request({ body: body(100) }))).status).toBe(200);
      const { webhooks: one } = setup({ maxEvents: 1 });
      expectError(await one.handle(request({ body: body(2) })), 'TOO_MANY_EVENTS');
    });

    it('accepts a body of exactly the size limit', async () => {
      const { webhooks } = setup({ maxBodyBytes: 1000 });
      const json = JSON.stringify(paymentRequestEvent());
      const body = json + ' '.repeat(1000 - json.length);
      expect((await webhooks.handle(request({ body }))).status).toBe(200);
    });

    it('answers 200 for an unknown eventType and hands it to onUnknown only', async () => {
      const { webhooks } = setup();
      const known = vi.fn();
      const unknown = vi.fn();
      const any = vi.fn();
      webhooks.on('PAYMENT-COMPLETED', known).onUnknown(unknown).onAny(any);
      const response = await webhooks.handle(
        request({ body: JSON.stringify(paymentRequestEvent('x', { eventType: 'PAYMENT-NEW' })) }),
      );
      expect(response.status).toBe(200);
      expect(known).not.toHaveBeenCalled();
      expect(unknown).toHaveBeenCalledTimes(1);
      expect(unknown.mock.calls[0]?.[0]).toMatchObject({ known: false, eventType: 'PAYMENT-NEW' });
      expect(any).toHaveBeenCalledTimes(1);
    });

    it('answers 200 for a known event nobody listens to, and completes it', async () => {
      const { webhooks } = setup();
      expect((await webhooks.handle(request())).body).toBe(
        '{"received":1,"processed":1,"duplicates":0}',
      );
      expect((await webhooks.handle(request())).body).toBe(
        '{"received":1,"processed":0,"duplicates":1}',
      );
    });

    it('runs the specific handlers in order, then onAny, with the key', async () => {
      const { webhooks } = setup();
      const calls: string[] = [];
      webhooks
        .onAny((_event, { key }) => {
          calls.push(`any ${key}`);
        })
        .on(['PAYMENT-COMPLETED', 'PAYMENT-FAILED'], async () => {
          await Promise.resolve();
          calls.push('first');
        })
        .on('PAYMENT-COMPLETED', () => {
          calls.push('second');
        })
        .on('PAYMENT-FAILED', () => {
          calls.push('failed');
        });
      await webhooks.handle(request());
      expect(calls).toEqual(['first', 'second', `any ${KEY}`]);
    });

    it('uses a custom idempotency key', async () => {
      const { webhooks, reports } = setup({ idempotencyKey: (event) => `k:${event.resource.id}` });
      await webhooks.handle(request());
      expect(reports[0]?.events[0]?.key).toBe('k:8ecd810d-c0e2-40a6-8ab9-da12d72a3d6a');
    });

    it('judges the client behind a trusted proxy', async () => {
      const { webhooks, reports } = setup({ trustedProxies: ['10.0.0.0/8'] });
      const response = await webhooks.handle(
        request({ peer: '10.1.2.3', headers: { 'x-forwarded-for': `198.51.100.1, ${PEER}` } }),
      );
      expect(response.status).toBe(200);
      expect(reports[0]?.clientIp).toBe(PEER);
    });
  });

  describe('405', () => {
    it.each(['GET', 'PUT', 'HEAD', 'OPTIONS', ''])(
      'refuses %j with Allow: POST',
      async (method) => {
        const { webhooks, reports } = setup();
        const body = lazyBody('{}');
        const response = await webhooks.handle(request({ method, body, peer: '192.0.2.1' }));
        expectError(response, 'METHOD_NOT_ALLOWED', { allow: 'POST' });
        expect(response.body).toBe(
          '{"error":{"code":"METHOD_NOT_ALLOWED","message":"Only POST is accepted."}}',
        );
        expect(body).not.toHaveBeenCalled();
        expect(reports[0]).toMatchObject({
          status: 405,
          code: 'METHOD_NOT_ALLOWED',
          step: 'method',
        });
      },
    );
  });

  describe('403', () => {
    it.each([
      ['an address outside the allowlist', '192.0.2.1', {}],
      ['a missing address', null, {}],
      ['a malformed address', 'garbage', {}],
      [
        'a spoofed X-Forwarded-For from an untrusted peer',
        '192.0.2.1',
        { 'x-forwarded-for': PEER },
      ],
      ['the sandbox address on a production allowlist', '99.79.143.93', {}],
    ])('refuses %s before reading the body or checking credentials', async (_n, peer, headers) => {
      const { webhooks, reports } = setup();
      const body = lazyBody(JSON.stringify(paymentRequestEvent()));
      const response = await webhooks.handle(
        request({ peer, body, headers: { ...headers, authorization: 'Basic !!' } }),
      );
      expectError(response, 'IP_NOT_ALLOWED');
      expect(body).not.toHaveBeenCalled();
      expect(reports[0]).toMatchObject({ status: 403, code: 'IP_NOT_ALLOWED', step: 'ip' });
    });
  });

  describe('401', () => {
    const challenge = { 'www-authenticate': 'Basic realm="clik2pay", charset="UTF-8"' };
    it.each([
      ['no Authorization header', undefined],
      ['a wrong password', encodeBasicAuth(USERNAME, 'wrong')],
      ['a wrong username', encodeBasicAuth('someone', PASSWORD)],
      ['another scheme', `Bearer ${AUTH.slice(6)}`],
      ['malformed base64', `Basic ${MARKER}!`],
    ])('refuses %s with WWW-Authenticate, before reading the body', async (_name, auth) => {
      const { webhooks, reports } = setup();
      const body = lazyBody(JSON.stringify(paymentRequestEvent()));
      const headers: Record<string, string> = { 'content-length': '999999999' };
      const req = request({ body, headers });
      const response = await webhooks.handle({
        ...req,
        header: (name) => (name === 'authorization' ? auth : req.header(name)),
      });
      // The body it never read closes the connection (see 'an unread body').
      expectError(response, 'UNAUTHORIZED', { ...challenge, connection: 'close' });
      expect(body).not.toHaveBeenCalled();
      expect(reports[0]).toMatchObject({ status: 401, code: 'UNAUTHORIZED', step: 'auth' });
    });

    it('uses the configured realm', async () => {
      const { webhooks } = setup({ realm: 'shop' });
      const response = await webhooks.handle(request({ headers: { authorization: '' } }));
      expect(response.headers['www-authenticate']).toBe('Basic realm="shop", charset="UTF-8"');
    });

    it('accepts either pair while rotating', async () => {
      const { webhooks } = setup({
        credentials: [
          { username: USERNAME, password: PASSWORD },
          { username: 'new', password: 'new-password' },
        ],
      });
      const fresh = encodeBasicAuth('new', 'new-password');
      expect((await webhooks.handle(request())).status).toBe(200);
      expect((await webhooks.handle(request({ headers: { authorization: fresh } }))).status).toBe(
        200,
      );
      const mixed = encodeBasicAuth('new', PASSWORD);
      expect((await webhooks.handle(request({ headers: { authorization: mixed } }))).status).toBe(
        401,
      );
    });
  });

  describe('413', () => {
    it('refuses a declared Content-Length over the limit without reading the body', async () => {
      const { webhooks, reports } = setup({ maxBodyBytes: 100 });
      const body = lazyBody('{}');
      const response = await webhooks.handle(
        request({ body, headers: { 'content-length': '101' } }),
      );
      expectError(response, 'PAYLOAD_TOO_LARGE', { connection: 'close' });
      expect(body).not.toHaveBeenCalled();
      expect(reports[0]).toMatchObject({ status: 413, code: 'PAYLOAD_TOO_LARGE', step: 'size' });
    });

    it('passes the limit to a lazy reader and maps its PAYLOAD_TOO_LARGE', async () => {
      const { webhooks } = setup({ maxBodyBytes: 100 });
      const body = vi.fn(async (_max: number): Promise<string> => {
        throw new C2pError('PAYLOAD_TOO_LARGE');
      });
      expectError(await webhooks.handle(request({ body })), 'PAYLOAD_TOO_LARGE');
      expect(body).toHaveBeenCalledExactlyOnceWith(100);
    });

    it('refuses a string body over the limit', async () => {
      const { webhooks } = setup({ maxBodyBytes: 100 });
      expectError(await webhooks.handle(request({ body: ' '.repeat(101) })), 'PAYLOAD_TOO_LARGE');
    });

    it('counts a string body in UTF-8 bytes, not characters', async () => {
      const { webhooks } = setup({ maxBodyBytes: 100 });
      // 34 characters, 102 bytes.
      expectError(await webhooks.handle(request({ body: '€'.repeat(34) })), 'PAYLOAD_TOO_LARGE');
    });

    it('refuses a bytes body over the limit, also from a lazy reader', async () => {
      const { webhooks } = setup({ maxBodyBytes: 100 });
      const bytes = new Uint8Array(101).fill(0x20);
      expectError(await webhooks.handle(request({ body: bytes })), 'PAYLOAD_TOO_LARGE');
      expectError(await webhooks.handle(request({ body: async () => bytes })), 'PAYLOAD_TOO_LARGE');
    });

    it('defaults to 64 KiB', async () => {
      const { webhooks } = setup();
      expect(webhooks.maxBodyBytes).toBe(65_536);
      const json = JSON.stringify(paymentRequestEvent());
      const exact = json + ' '.repeat(65_536 - json.length);
      expect((await webhooks.handle(request({ body: exact }))).status).toBe(200);
      expectError(await webhooks.handle(request({ body: `${exact} ` })), 'PAYLOAD_TOO_LARGE');
    });
  });

  describe('reading the body', () => {
    it('refuses a body read whole when its Content-Length is over the limit', async () => {
      const { webhooks } = setup({ maxBodyBytes: 1_000 });
      const response = await webhooks.handle(request({ headers: { 'content-length': '1001' } }));
      expectError(response, 'PAYLOAD_TOO_LARGE');
    });

    it('answers 400 when a lazy reader fails otherwise (the client went away)', async () => {
      const { webhooks } = setup();
      const body = async (): Promise<string> => {
        throw new Error('the request closed before its body ended');
      };
      expectError(await webhooks.handle(request({ body })), 'INVALID_JSON');
    });
  });

  describe('400', () => {
    it('puts issues in the delivery report only for a payload it could describe', async () => {
      const { webhooks, reports } = setup();
      await webhooks.handle(request({ body: '{' }));
      await webhooks.handle(request({ body: '{"eventType":"X"}' }));
      await webhooks.handle(request({ peer: '192.0.2.1' }));
      expect(reports.map((report) => 'issues' in report)).toEqual([false, true, false]);
      expect(reports[1]?.issues).toEqual([{ path: 'resource', message: 'required object' }]);
    });

    it.each([
      ['not JSON', `password=${MARKER}`],
      ['truncated JSON', `{"eventType":"${MARKER}"`],
      ['an empty body', ''],
      ['no body', undefined],
      ['invalid UTF-8', new Uint8Array([0x7b, 0x22, 0xff, 0x22, 0x7d])],
    ])('refuses %s', async (_name, body) => {
      const { webhooks, reports } = setup();
      const response = await webhooks.handle(request({ body }));
      expectError(response, 'INVALID_JSON');
      expect(reports[0]).toMatchObject({ status: 400, code: 'INVALID_JSON', step: 'json' });
    });
  });

  describe('422', () => {
    it('refuses a body that is not an event, with the issues and without the input', async () => {
      const { webhooks, reports } = setup();
      const body = JSON.stringify([
        paymentRequestEvent('ok'),
        { eventType: MARKER, resource: { id: 42, note: MARKER } },
      ]);
      const response = await webhooks.handle(request({ body }));
      const issues = [{ path: '[1].resource.id', message: 'expected string' }];
      expect(response.status).toBe(422);
      expect(response.headers).toEqual(JSON_HEADERS);
      expect(JSON.parse(response.body)).toEqual(errorBody('INVALID_PAYLOAD', { issues }));
      expectNoLeak(response);
      expect(reports[0]).toMatchObject({ status: 422, code: 'INVALID_PAYLOAD', step: 'payload' });
      expect(reports[0]?.issues).toEqual(issues);
      expect(JSON.stringify(reports[0])).not.toContain(MARKER);
    });

    it('runs no handler when one event of a batch is invalid', async () => {
      const { webhooks } = setup();
      const handler = vi.fn();
      webhooks.onAny(handler);
      const body = JSON.stringify([paymentRequestEvent('ok'), { eventType: 'X' }]);
      expect((await webhooks.handle(request({ body }))).status).toBe(422);
      expect(handler).not.toHaveBeenCalled();
    });
  });

  describe('duplicates and 409', () => {
    it('answers a redelivery 200, counted as a duplicate, without running handlers', async () => {
      const { webhooks, reports } = setup();
      const handler = vi.fn();
      webhooks.on('PAYMENT-COMPLETED', handler);
      await webhooks.handle(request());
      const response = await webhooks.handle(request());
      expect(response.status).toBe(200);
      expect(JSON.parse(response.body)).toEqual({ received: 1, processed: 0, duplicates: 1 });
      expect(handler).toHaveBeenCalledTimes(1);
      expect(reports[1]?.events[0]?.outcome).toBe('duplicate');
    });

    it('treats a later status of the same resource as a new event', async () => {
      const { webhooks } = setup();
      await webhooks.handle(request());
      const settled = paymentRequestEvent();
      (settled.resource as Record<string, unknown>).status = 'SETTLED';
      const response = await webhooks.handle(request({ body: JSON.stringify(settled) }));
      expect(JSON.parse(response.body)).toEqual({ received: 1, processed: 1, duplicates: 0 });
    });

    it('answers 409 while another owner holds the claim', async () => {
      const store = createMemoryStore();
      const { webhooks, reports } = setup({ store });
      const handler = vi.fn();
      webhooks.onAny(handler);
      const key = KEY;
      const other = await store.claim(key, 60_000);
      expect(other.status).toBe('acquired');
      const response = await webhooks.handle(request());
      expectError(response, 'IN_PROGRESS');
      expect(handler).not.toHaveBeenCalled();
      expect(reports[0]?.events[0]?.outcome).toBe('in_progress');
      // Once the other owner releases, the retry goes through.
      if (other.status === 'acquired') await store.release(key, other.token);
      expect((await webhooks.handle(request())).status).toBe(200);
      expect(handler).toHaveBeenCalledTimes(1);
    });

    it('answers 409 when our lease ran out and completion found another owner', async () => {
      const memory = createMemoryStore();
      const store: IdempotencyStore = { ...memory, complete: async () => false };
      const { webhooks, reports } = setup({ store });
      expectError(await webhooks.handle(request()), 'IN_PROGRESS');
      expect(reports[0]?.events[0]?.outcome).toBe('in_progress');
    });
  });

  describe('500', () => {
    it('answers a generic message and hands the cause to the error hook', async () => {
      const { webhooks, errors, reports } = setup();
      const cause = new Error(`database said ${MARKER}`);
      webhooks.on('PAYMENT-COMPLETED', () => {
        throw cause;
      });
      const response = await webhooks.handle(request());
      expectError(response, 'HANDLER_FAILED');
      expect(response.body).toBe(
        '{"error":{"code":"HANDLER_FAILED","message":"The event could not be processed."}}',
      );
      expect(errors).toHaveLength(1);
      expect(errors[0]?.error).toBeInstanceOf(C2pError);
      expect(errors[0]?.error.code).toBe('HANDLER_FAILED');
      expect(errors[0]?.error.cause).toBe(cause);
      expect(errors[0]?.key).toBe(KEY);
      expect(reports[0]).toMatchObject({ status: 500, code: 'HANDLER_FAILED', step: 'events' });
      expect(reports[0]?.events[0]?.outcome).toBe('handler_failed');
    });

    it('releases the key so the retry runs the handler again', async () => {
      const { webhooks } = setup();
      let calls = 0;
      webhooks.on('PAYMENT-COMPLETED', () => {
        calls++;
        if (calls === 1) throw new Error('once');
      });
      expect((await webhooks.handle(request())).status).toBe(500);
      const retry = await webhooks.handle(request());
      expect(retry.status).toBe(200);
      expect(JSON.parse(retry.body)).toEqual({ received: 1, processed: 1, duplicates: 0 });
      expect(calls).toBe(2);
    });

    it('treats a rejected promise like a throw, and stops the later handlers', async () => {
      const { webhooks } = setup();
      const later = vi.fn();
      webhooks.on('PAYMENT-COMPLETED', async () => Promise.reject(new Error('no'))).onAny(later);
      expect((await webhooks.handle(request())).status).toBe(500);
      expect(later).not.toHaveBeenCalled();
    });

    it('answers 500 when the idempotency key function throws', async () => {
      const { webhooks, errors } = setup({
        idempotencyKey: () => {
          throw new Error('bad key');
        },
      });
      expectError(await webhooks.handle(request()), 'HANDLER_FAILED');
      expect(errors[0]?.error.code).toBe('HANDLER_FAILED');
    });

    it('hands the error hook the event whose key function threw, with the cause', async () => {
      const cause = new Error('bad key');
      const seen: Array<[C2pError, unknown]> = [];
      const { webhooks, reports } = setup({
        idempotencyKey: () => {
          throw cause;
        },
      });
      webhooks.onError((error, context) => seen.push([error, context]));
      await webhooks.handle(request());
      expect(seen).toHaveLength(1);
      expect(seen[0]?.[0]).toMatchObject({ code: 'HANDLER_FAILED', cause });
      expect(seen[0]?.[1]).toMatchObject({ event: { eventType: 'PAYMENT-COMPLETED' } });
      expect(reports[0]?.events.map((e) => [e.key, e.outcome])).toEqual([['', 'handler_failed']]);
    });

    it('answers 500 when a broken request object throws only while its body is read', async () => {
      const thrown = new Error('content-length lookup broke');
      const seen: C2pError[] = [];
      const { webhooks } = setup();
      webhooks.onError((error) => seen.push(error));
      const response = await webhooks.handle({
        ...request({ body: lazyBody(JSON.stringify(paymentRequestEvent())) }),
        header: (name) => {
          if (name === 'content-length') throw thrown;
          return name === 'authorization' ? AUTH : undefined;
        },
      });
      expectError(response, 'HANDLER_FAILED');
      expect(seen.map((error) => error.cause)).toEqual([thrown]);
    });

    it('hands the error hook what a broken request object threw', async () => {
      const thrown = new Error('header lookup broke');
      const seen: C2pError[] = [];
      const { webhooks } = setup();
      webhooks.onError((error) => seen.push(error));
      await webhooks.handle({
        ...request(),
        header: () => {
          throw thrown;
        },
      });
      expect(seen.map((error) => [error.code, error.cause])).toEqual([['HANDLER_FAILED', thrown]]);
    });

    it('awaits every async handler in turn: a later one that rejects fails the event', async () => {
      const { webhooks } = setup();
      const order: string[] = [];
      webhooks
        .on('PAYMENT-COMPLETED', async () => {
          order.push('first');
        })
        .on('PAYMENT-COMPLETED', async () => {
          await new Promise((resolve) => setTimeout(resolve, 5));
          order.push('second');
          throw new Error('second broke');
        })
        .onAny(() => {
          order.push('any');
        });
      expectError(await webhooks.handle(request()), 'HANDLER_FAILED');
      expect(order).toEqual(['first', 'second']);
    });

    it('answers 500 and never throws when the request object itself is broken', async () => {
      const { webhooks, reports } = setup();
      const broken: WebhookRequest = {
        ...request(),
        header: () => {
          throw new Error(MARKER);
        },
      };
      expectError(await webhooks.handle(broken), 'HANDLER_FAILED');
      expect(reports[0]?.status).toBe(500);
    });

    it('is not changed by hooks that throw', async () => {
      const webhooks = createWebhooks({
        credentials: { username: USERNAME, password: PASSWORD },
        allowedIps: ['production'],
      })
        .onError(() => {
          throw new Error('hook');
        })
        .onDelivery(() => {
          throw new Error('hook');
        })
        .on('PAYMENT-COMPLETED', () => {
          throw new Error('handler');
        });
      expectError(await webhooks.handle(request()), 'HANDLER_FAILED');
    });
  });

  it('survives async hooks that reject: no unhandled rejection, same answer', async () => {
    const { process: nodeProcess } = globalThis as unknown as {
      process: {
        on(event: 'unhandledRejection', listener: (reason: unknown) => void): void;
        off(event: 'unhandledRejection', listener: (reason: unknown) => void): void;
      };
    };
    const unhandled: unknown[] = [];
    const listener = (reason: unknown): void => {
      unhandled.push(reason);
    };
    nodeProcess.on('unhandledRejection', listener);
    try {
      const webhooks = createWebhooks({
        credentials: { username: USERNAME, password: PASSWORD },
        allowedIps: ['production'],
      })
        .onError(async () => {
          throw new Error('error hook rejected');
        })
        .onDelivery(async () => {
          throw new Error('delivery hook rejected');
        })
        .on('PAYMENT-COMPLETED', () => {
          throw new Error('handler');
        });
      expectError(await webhooks.handle(request()), 'HANDLER_FAILED');
      await new Promise((resolve) => setTimeout(resolve, 20));
      expect(unhandled).toEqual([]);
    } finally {
      nodeProcess.off('unhandledRejection', listener);
    }
  });

  describe('503', () => {
    it('answers 503 when the store cannot claim, and reports it', async () => {
      const memory = createMemoryStore();
      const cause = new Error('ECONNREFUSED');
      const store: IdempotencyStore = {
        ...memory,
        claim: async () => {
          throw cause;
        },
      };
      const { webhooks, errors, reports } = setup({ store });
      const handler = vi.fn();
      webhooks.onAny(handler);
      expectError(await webhooks.handle(request()), 'STORE_UNAVAILABLE');
      expect(handler).not.toHaveBeenCalled();
      expect(errors[0]?.error.code).toBe('STORE_UNAVAILABLE');
      expect(errors[0]?.error.cause).toBe(cause);
      expect(reports[0]?.events[0]?.outcome).toBe('store_unavailable');
    });

    it('passes on a C2pError STORE_UNAVAILABLE from the store as it is', async () => {
      const thrown = new C2pError('STORE_UNAVAILABLE', { cause: new Error('down') });
      const store: IdempotencyStore = {
        ...createMemoryStore(),
        claim: async () => {
          throw thrown;
        },
      };
      const { webhooks, errors } = setup({ store });
      expectError(await webhooks.handle(request()), 'STORE_UNAVAILABLE');
      expect(errors[0]?.error).toBe(thrown);
    });

    it('answers 503 when completion fails after the handlers ran', async () => {
      const store: IdempotencyStore = {
        ...createMemoryStore(),
        complete: async () => {
          throw new Error('lost connection');
        },
      };
      const { webhooks, errors } = setup({ store });
      expectError(await webhooks.handle(request()), 'STORE_UNAVAILABLE');
      expect(errors.map((e) => e.error.code)).toEqual(['STORE_UNAVAILABLE']);
    });

    it('stops a batch at the first store failure and leaves the rest not attempted', async () => {
      let claims = 0;
      const memory = createMemoryStore();
      const store: IdempotencyStore = {
        ...memory,
        claim: async (key, leaseMs) => {
          claims++;
          if (claims === 2) throw new Error('down');
          return memory.claim(key, leaseMs);
        },
      };
      const { webhooks, reports } = setup({ store });
      const body = JSON.stringify(['a', 'b', 'c'].map((id) => paymentRequestEvent(id)));
      expectError(await webhooks.handle(request({ body })), 'STORE_UNAVAILABLE');
      expect(reports[0]?.events.map((e) => e.outcome)).toEqual([
        'processed',
        'store_unavailable',
        'not_attempted',
      ]);
      expect(claims).toBe(2);
    });
  });

  describe('batches', () => {
    it('completes the others when one handler throws, and skips them on the retry', async () => {
      const { webhooks, reports } = setup();
      const calls: string[] = [];
      let failB = true;
      webhooks.on('PAYMENT-COMPLETED', (event) => {
        calls.push(event.resource.id);
        if (event.resource.id === 'b' && failB) throw new Error('b failed');
      });
      const body = JSON.stringify(['a', 'b', 'c'].map((id) => paymentRequestEvent(id)));

      const first = await webhooks.handle(request({ body }));
      expectError(first, 'HANDLER_FAILED');
      expect(calls).toEqual(['a', 'b', 'c']);
      expect(reports[0]?.events.map((e) => e.outcome)).toEqual([
        'processed',
        'handler_failed',
        'processed',
      ]);

      failB = false;
      const retry = await webhooks.handle(request({ body }));
      expect(retry.status).toBe(200);
      expect(JSON.parse(retry.body)).toEqual({ received: 3, processed: 1, duplicates: 2 });
      expect(calls).toEqual(['a', 'b', 'c', 'b']);
      expect(reports[1]?.events.map((e) => e.outcome)).toEqual([
        'duplicate',
        'processed',
        'duplicate',
      ]);
    });

    it('answers with the worst outcome: 500 beats 409', async () => {
      const store = createMemoryStore();
      const { webhooks } = setup({ store });
      webhooks.on('PAYMENT-COMPLETED', (event) => {
        if (event.resource.id === 'b') throw new Error('b failed');
      });
      await store.claim('payment-request:a:PAYMENT-COMPLETED:PAID', 60_000);
      const body = JSON.stringify(['a', 'b'].map((id) => paymentRequestEvent(id)));
      expectError(await webhooks.handle(request({ body })), 'HANDLER_FAILED');
      const reversed = JSON.stringify(['b', 'a'].map((id) => paymentRequestEvent(id)));
      expectError(await webhooks.handle(request({ body: reversed })), 'HANDLER_FAILED');
    });

    it('counts the same event twice in one body as processed then duplicate', async () => {
      const { webhooks } = setup();
      const handler = vi.fn();
      webhooks.onAny(handler);
      const body = JSON.stringify([paymentRequestEvent(), paymentRequestEvent()]);
      const response = await webhooks.handle(request({ body }));
      expect(JSON.parse(response.body)).toEqual({ received: 2, processed: 1, duplicates: 1 });
      expect(handler).toHaveBeenCalledTimes(1);
    });
  });

  describe('a transactional store', () => {
    interface Tx {
      id: number;
      writes: string[];
    }

    function transactionalStore() {
      const memory = createMemoryStore();
      const committed: string[] = [];
      let next = 0;
      const released: string[] = [];
      const store: TransactionalIdempotencyStore<Tx> = {
        claim: (key, leaseMs): ClaimResult => memory.claim(key, leaseMs),
        complete: () => {
          throw new Error('complete() must not be called on a transactional store');
        },
        release: async (key, token) => {
          released.push(key);
          return memory.release(key, token);
        },
        async completeWithin(key, token, retainMs, work) {
          const tx: Tx = { id: ++next, writes: [] };
          await work(tx); // a throw rolls back: tx.writes are dropped
          const ok = await memory.complete(key, token, retainMs);
          if (ok) committed.push(...tx.writes);
          return ok;
        },
      };
      return { store, committed, released };
    }

    it('hands the transaction to every handler of the event', async () => {
      const { store, committed } = transactionalStore();
      const { webhooks } = setup({ store });
      const seen: Tx[] = [];
      webhooks
        .on('PAYMENT-COMPLETED', (event, { tx }) => {
          seen.push(tx);
          tx.writes.push(`fulfil ${event.resource.id}`);
        })
        .onAny((_event, { tx }) => {
          seen.push(tx);
        });
      expect(
        (await webhooks.handle(request({ body: JSON.stringify(paymentRequestEvent('a')) }))).status,
      ).toBe(200);
      expect(seen).toHaveLength(2);
      expect(seen[0]).toBe(seen[1]);
      expect(seen[0]?.id).toBe(1);
      expect(committed).toEqual(['fulfil a']);
    });

    it('rolls back and releases when a handler throws, then applies once on the retry', async () => {
      const { store, committed, released } = transactionalStore();
      const { webhooks, errors } = setup({ store });
      let fail = true;
      webhooks.on('PAYMENT-COMPLETED', (event, { tx }) => {
        tx.writes.push(`fulfil ${event.resource.id}`);
        if (fail) throw new Error('crash after the write');
      });
      const body = JSON.stringify(paymentRequestEvent('a'));
      expectError(await webhooks.handle(request({ body })), 'HANDLER_FAILED');
      expect(committed).toEqual([]);
      expect(released).toEqual(['payment-request:a:PAYMENT-COMPLETED:PAID']);
      expect(errors.map((e) => e.error.code)).toEqual(['HANDLER_FAILED']);
      fail = false;
      expect((await webhooks.handle(request({ body }))).status).toBe(200);
      expect((await webhooks.handle(request({ body }))).body).toBe(
        '{"received":1,"processed":0,"duplicates":1}',
      );
      expect(committed).toEqual(['fulfil a']);
    });

    it('answers 409 when completeWithin finds the token stale', async () => {
      const { store } = transactionalStore();
      const stale: TransactionalIdempotencyStore<Tx> = {
        ...store,
        completeWithin: async () => false,
      };
      const { webhooks } = setup({ store: stale });
      expectError(await webhooks.handle(request()), 'IN_PROGRESS');
    });

    it('answers 503 when the transaction fails to commit, and releases so the retry runs', async () => {
      const { store, committed, released } = transactionalStore();
      let commitFails = true;
      const flaky: TransactionalIdempotencyStore<Tx> = {
        ...store,
        completeWithin: async (key, token, retainMs, work) => {
          if (!commitFails) return store.completeWithin(key, token, retainMs, work);
          await work({ id: 0, writes: [] });
          throw new Error('commit failed');
        },
      };
      const { webhooks, errors } = setup({ store: flaky });
      webhooks.on('PAYMENT-COMPLETED', (event, { tx }) => {
        tx.writes.push(`fulfil ${event.resource.id}`);
      });
      const body = JSON.stringify(paymentRequestEvent('a'));
      expectError(await webhooks.handle(request({ body })), 'STORE_UNAVAILABLE');
      expect(errors.map((e) => e.error.code)).toEqual(['STORE_UNAVAILABLE']);
      expect(released).toEqual(['payment-request:a:PAYMENT-COMPLETED:PAID']);
      commitFails = false;
      expect((await webhooks.handle(request({ body }))).body).toBe(
        '{"received":1,"processed":1,"duplicates":0}',
      );
      expect(committed).toEqual(['fulfil a']);
    });
  });

  describe('a store with processOnce (crash-safe sync mode)', () => {
    interface Tx {
      writes: string[];
    }

    /** processOnce over a memory store: one call per event, the writes kept only on success. */
    function processOnceStore(answer?: 'duplicate' | 'in_progress') {
      const memory = createMemoryStore();
      const committed: string[] = [];
      const calls: string[] = [];
      const unused = async (): Promise<never> => {
        throw new Error('the pipeline must use processOnce');
      };
      const store: TransactionalIdempotencyStore<Tx> = {
        claim: unused,
        complete: unused,
        release: unused,
        completeWithin: unused,
        async processOnce(key, retainMs, work) {
          calls.push(key);
          if (answer) return answer;
          const claim = await memory.claim(key, 60_000);
          if (claim.status !== 'acquired') return 'duplicate';
          const tx: Tx = { writes: [] };
          try {
            await work(tx);
          } catch (error) {
            await memory.release(key, claim.token);
            throw error;
          }
          await memory.complete(key, claim.token, retainMs);
          committed.push(...tx.writes);
          return 'processed';
        },
      };
      return { store, committed, calls };
    }

    it('runs the handlers inside processOnce with its transaction, once', async () => {
      const { store, committed, calls } = processOnceStore();
      const { webhooks } = setup({ store });
      webhooks.on('PAYMENT-COMPLETED', (event, { tx, key }) => {
        tx.writes.push(`fulfil ${event.resource.id} ${key}`);
      });
      const first = await webhooks.handle(request());
      const second = await webhooks.handle(request());
      expect([first.body, second.body]).toEqual([
        '{"received":1,"processed":1,"duplicates":0}',
        '{"received":1,"processed":0,"duplicates":1}',
      ]);
      expect(committed).toEqual([`fulfil 8ecd810d-c0e2-40a6-8ab9-da12d72a3d6a ${KEY}`]);
      expect(calls).toEqual([KEY, KEY]);
    });

    it('answers 409 when processOnce says another owner is processing the event', async () => {
      const { store } = processOnceStore('in_progress');
      const { webhooks, reports } = setup({ store });
      expectError(await webhooks.handle(request()), 'IN_PROGRESS');
      expect(reports[0]?.events[0]?.outcome).toBe('in_progress');
    });

    it("answers 500 with the handler's own error as the cause when the handler throws", async () => {
      const { store, committed } = processOnceStore();
      const { webhooks, errors } = setup({ store });
      const thrown = new Error('ledger offline');
      webhooks.on('PAYMENT-COMPLETED', (_event, { tx }) => {
        tx.writes.push('half done');
        throw thrown;
      });
      expectError(await webhooks.handle(request()), 'HANDLER_FAILED');
      expect(errors.map((e) => [e.error.code, e.error.cause, e.key])).toEqual([
        ['HANDLER_FAILED', thrown, KEY],
      ]);
      expect(committed).toEqual([]);
    });

    it('answers 503 when processOnce cannot reach its backend', async () => {
      const { store } = processOnceStore();
      const down = new Error('ECONNREFUSED');
      const { webhooks, errors } = setup({
        store: { ...store, processOnce: async () => Promise.reject(down) },
      });
      expectError(await webhooks.handle(request()), 'STORE_UNAVAILABLE');
      expect(errors.map((e) => [e.error.code, e.error.cause])).toEqual([
        ['STORE_UNAVAILABLE', down],
      ]);
    });
  });

  describe('leases', () => {
    function recordingStore(withRenew: boolean) {
      const memory = createMemoryStore();
      const leases: number[] = [];
      const renewals: number[] = [];
      const store: IdempotencyStore = {
        claim: (key, leaseMs) => {
          leases.push(leaseMs);
          return memory.claim(key, leaseMs);
        },
        complete: memory.complete,
        release: memory.release,
        ...(withRenew && {
          renew: (key: string, token: string, leaseMs: number) => {
            renewals.push(leaseMs);
            return memory.renew(key, token, leaseMs);
          },
        }),
      };
      return { store, leases, renewals };
    }

    it('defaults to a 10 s lease for a store that renews, 60 s for one that cannot', async () => {
      const renewing = recordingStore(true);
      const fixed = recordingStore(false);
      await setup({ store: renewing.store }).webhooks.handle(request());
      await setup({ store: fixed.store }).webhooks.handle(request());
      expect([renewing.leases, fixed.leases]).toEqual([[10_000], [60_000]]);
    });

    it('renews the lease every third of it while the handlers run, and stops after', async () => {
      // On a fake clock (the store's too): real 10 ms renewals of a 30 ms lease
      // were missed on a loaded machine, and the lease ran out under the test.
      vi.useFakeTimers();
      try {
        const { store, renewals } = recordingStore(true);
        const { webhooks } = setup({ store, leaseMs: 30 });
        webhooks.onAny(() => new Promise((resolve) => setTimeout(resolve, 200)));
        const response = webhooks.handle(request());
        // Long past the 30 ms lease, the event is still held: a redelivery is told to wait.
        await vi.advanceTimersByTimeAsync(120);
        expectError(await webhooks.handle(request()), 'IN_PROGRESS');
        await vi.advanceTimersByTimeAsync(100);
        expect((await response).status).toBe(200);
        // One renewal every 10 ms for the 200 ms the handler ran.
        const renewed = renewals.length;
        expect(renewed).toBeGreaterThanOrEqual(19);
        expect(renewed).toBeLessThanOrEqual(20);
        expect(new Set(renewals)).toEqual(new Set([30]));
        await vi.advanceTimersByTimeAsync(60);
        expect(renewals.length).toBe(renewed);
      } finally {
        vi.useRealTimers();
      }
    });

    it('lets another delivery take over a lease that is not renewed', async () => {
      const { store } = recordingStore(false);
      const { webhooks } = setup({ store, leaseMs: 30 });
      let runs = 0;
      webhooks.onAny(async () => {
        // Only the first run is slow, past its lease.
        if (++runs === 1) await new Promise((resolve) => setTimeout(resolve, 150));
      });
      const first = webhooks.handle(request());
      await new Promise((resolve) => setTimeout(resolve, 80));
      const second = await webhooks.handle(request());
      // The first owner's completion finds the key taken over: it answers 409.
      expect([second.status, (await first).status, runs]).toEqual([200, 409, 2]);
    });
  });

  describe('an unread body', () => {
    const event = JSON.stringify(paymentRequestEvent());

    it.each([
      ['refused at the method', { method: 'PUT' }, 'METHOD_NOT_ALLOWED'],
      ['refused at the IP', { peer: '192.0.2.1' }, 'IP_NOT_ALLOWED'],
      ['refused at the credentials', { headers: { authorization: 'Basic eDp5' } }, 'UNAUTHORIZED'],
    ] as const)('closes the connection when %s before reading', async (_name, init, code) => {
      const { webhooks } = setup();
      const body = lazyBody(event);
      const headers = {
        'content-length': String(event.length),
        ...('headers' in init ? init.headers : {}),
      };
      const response = await webhooks.handle(request({ ...init, headers, body }));
      expect([response.status, response.headers.connection]).toEqual([
        errorCodes[code].status,
        'close',
      ]);
      expect(body).not.toHaveBeenCalled();
    });

    it('keeps the connection after a refusal when no body was announced', async () => {
      const { webhooks } = setup();
      const refused = (headers: Record<string, string>) =>
        webhooks.handle(request({ peer: '192.0.2.1', body: lazyBody(''), headers }));
      const answers = await Promise.all([
        refused({}),
        refused({ 'content-length': '' }),
        refused({ 'content-length': ' 0 ' }),
        refused({ 'content-length': '', 'transfer-encoding': 'chunked' }),
      ]);
      expect(answers.map((answer) => answer.headers.connection)).toEqual([
        undefined,
        undefined,
        undefined,
        'close',
      ]);
    });

    it('closes the connection when a chunked body is cut at the limit', async () => {
      const { webhooks } = setup({ maxBodyBytes: 100 });
      const body = vi.fn(async (): Promise<string> => {
        throw new C2pError('PAYLOAD_TOO_LARGE');
      });
      const response = await webhooks.handle(
        request({ body, headers: { 'transfer-encoding': 'chunked' } }),
      );
      expectError(response, 'PAYLOAD_TOO_LARGE', { connection: 'close' });
    });

    it('keeps the connection when the body was read whole, or there was none', async () => {
      const { webhooks } = setup();
      const length = { 'content-length': String(event.length) };
      const answers = await Promise.all([
        webhooks.handle(request({ body: lazyBody(event), headers: length })),
        webhooks.handle(request({ body: lazyBody('{'), headers: { 'content-length': '1' } })),
        webhooks.handle(request({ method: 'GET', body: lazyBody('') })),
        webhooks.handle(
          request({ peer: '192.0.2.1', body: lazyBody(''), headers: { 'content-length': '0' } }),
        ),
        // A body a framework already read is no longer on the connection.
        webhooks.handle(request({ peer: '192.0.2.1', body: event, headers: length })),
      ]);
      expect(answers.map((answer) => [answer.status, answer.headers.connection])).toEqual([
        [200, undefined],
        [400, undefined],
        [405, undefined],
        [403, undefined],
        [403, undefined],
      ]);
    });
  });

  it('never echoes credentials or input in any error response', async () => {
    const { webhooks } = setup({ maxBodyBytes: 1000 });
    webhooks.onAny(() => {
      throw new Error(MARKER);
    });
    const wrong = encodeBasicAuth(MARKER, PASSWORD);
    const responses = await Promise.all([
      webhooks.handle(request({ method: MARKER })),
      webhooks.handle(request({ peer: MARKER, headers: { 'x-forwarded-for': MARKER } })),
      webhooks.handle(request({ headers: { authorization: wrong } })),
      webhooks.handle(request({ body: MARKER.repeat(50) })),
      webhooks.handle(request({ body: `{"${MARKER}":` })),
      webhooks.handle(request({ body: JSON.stringify({ eventType: MARKER, [MARKER]: MARKER }) })),
      webhooks.handle(
        request({ body: JSON.stringify(paymentRequestEvent(MARKER, { eventType: MARKER })) }),
      ),
    ]);
    expect(responses.map((r) => r.status)).toEqual([405, 403, 401, 413, 400, 422, 500]);
    for (const response of responses) expectNoLeak(response);
  });
});

describe('createWebhooks() options', () => {
  const credentials = { username: USERNAME, password: PASSWORD };

  function message(fn: () => unknown): string {
    try {
      fn();
    } catch (error) {
      expect(error).toBeInstanceOf(C2pError);
      expect((error as C2pError).code).toBe('INVALID_OPTIONS');
      return (error as C2pError).message;
    }
    throw new Error('expected a configuration error');
  }

  it.each([
    [
      'missing allowedIps',
      { credentials },
      '[@c2p/core] options.allowedIps: is required: name who may call, e.g. ["production"]',
    ],
    [
      'a bad allowedIps rule',
      { credentials, allowedIps: ['production', '10.0.0.0/8', '10.0.0.0/33'] },
      '[@c2p/core] options.allowedIps[2]: "10.0.0.0/33" is not an address, CIDR or preset name (production, sandbox, loopback)',
    ],
    [
      'a bad trusted proxy',
      { credentials, allowedIps: ['loopback'], trustedProxies: ['lb'] },
      '[@c2p/core] options.trustedProxies[0]: "lb" is not an address, CIDR or preset name (production, sandbox, loopback)',
    ],
    [
      'missing credentials',
      { allowedIps: ['loopback'] },
      '[@c2p/core] options.credentials.username: must be a non-empty string',
    ],
    [
      'a zero body limit',
      { credentials, allowedIps: ['loopback'], maxBodyBytes: 0 },
      '[@c2p/core] options.maxBodyBytes: must be a positive integer',
    ],
    [
      'a zero event cap',
      { credentials, allowedIps: ['loopback'], maxEvents: 0 },
      '[@c2p/core] options.maxEvents: must be a positive integer',
    ],
    [
      'a fractional lease',
      { credentials, allowedIps: ['loopback'], leaseMs: 1.5 },
      '[@c2p/core] options.leaseMs: must be a positive integer',
    ],
    [
      'a negative retention',
      { credentials, allowedIps: ['loopback'], retainMs: -1 },
      '[@c2p/core] options.retainMs: must be a positive integer',
    ],
    [
      'a store without release',
      { credentials, allowedIps: ['loopback'], store: { claim() {}, complete() {} } },
      '[@c2p/core] options.store: has no release() method',
    ],
    [
      'a key that is not a function',
      { credentials, allowedIps: ['loopback'], idempotencyKey: 'id' },
      '[@c2p/core] options.idempotencyKey: must be a function',
    ],
    ['options that are not an object', 'production', '[@c2p/core] options: must be an object'],
    ['null options', null, '[@c2p/core] options: must be an object'],
    [
      'an inbox that is not an object',
      { credentials, allowedIps: ['loopback'], inbox: 'sqlite' },
      '[@c2p/core] options.inbox: must be an inbox store, e.g. createSqliteInbox()',
    ],
    [
      'a null inbox',
      { credentials, allowedIps: ['loopback'], inbox: null },
      '[@c2p/core] options.inbox: must be an inbox store, e.g. createSqliteInbox()',
    ],
    [
      'a realm that is not a string',
      { credentials, allowedIps: ['loopback'], realm: 5 },
      '[@c2p/core] options.realm: must be a string without quotes, backslashes or control characters',
    ],
    [
      'a realm with a quote',
      { credentials, allowedIps: ['loopback'], realm: 'a"b' },
      '[@c2p/core] options.realm: must be a string without quotes, backslashes or control characters',
    ],
  ])('throws on %s, naming the option', (_name, options, expected) => {
    expect(message(() => createWebhooks(options as unknown as SyncWebhooksOptions))).toBe(expected);
  });

  it('exposes its body limit, for adapters that enforce it while reading', () => {
    const webhooks = createWebhooks({ credentials, allowedIps: ['loopback'], maxBodyBytes: 10 });
    expect(webhooks.maxBodyBytes).toBe(10);
  });

  it('refuses an empty allowlist, which would refuse every request', () => {
    expect(message(() => createWebhooks({ credentials, allowedIps: [] }))).toBe(
      '[@c2p/core] options.allowedIps: is empty, which would refuse every request: name who may call, e.g. ["production"]',
    );
  });

  it('builds the default key from kind, id, eventType and status', () => {
    const parsed = parseEvents(
      JSON.stringify({ eventType: 'PAYMENT-LINK-FOLLOWED', resource: { id: 'r1' } }),
    );
    expect(parsed.success && parsed.data.map(defaultIdempotencyKey)).toEqual([
      'unknown:r1:PAYMENT-LINK-FOLLOWED:',
    ]);
  });
});
