import { Agent as HttpAgent, request as httpRequest } from 'node:http';
import { Readable } from 'node:stream';
import {
  C2pError,
  type C2pErrorCode,
  type C2pEvent,
  createWebhooks,
  encodeBasicAuth,
  errorCodes,
  type IdempotencyStore,
  type SyncWebhooksOptions,
  type Webhooks,
} from '@c2p/core';
import type { WebhookBody } from '@c2p/core/kit';
import { invalidOption } from '@c2p/core/kit';
import fc from 'fast-check';
import { Agent, Client } from 'undici';
import { afterEach, describe, expect, it } from 'vitest';
import { type AuthorizationCase, authorizationCases } from './authorization-headers.js';
import { createEvent, type FactoryEvent } from './create-event.js';
import { chunk, RawConnection, type RawResponse, requestHead } from './raw-http.js';

/** A running server with the adapter under test mounted. */
export interface AdapterServer {
  /** The full webhook URL, e.g. `http://127.0.0.1:34567/webhooks/clik2pay`. */
  url: string;
  /** Stops the server; the suite calls it after each test. */
  close(): Promise<void>;
}

/** The cases of the suite, by name. */
type AdapterConformanceCase =
  | 'method'
  | 'ip'
  | 'auth'
  | 'size-declared'
  | 'size-streamed'
  | 'size-after-auth'
  | 'json'
  | 'payload'
  | 'event-count'
  | 'payload-key-bounds'
  | 'payload-key-unsafe'
  | 'in-progress'
  | 'handler-failed'
  | 'store-unavailable'
  | 'ok'
  | 'duplicate'
  | 'forwarded-untrusted'
  | 'forwarded-trusted'
  | 'concurrent-duplicates'
  | 'unknown-event'
  | 'batch'
  | 'keep-alive-oversized'
  | 'content-type'
  | 'slow-unauthenticated'
  | 'auth-repeated'
  | 'path-exact'
  | 'auth-fuzz'
  | 'body-lying-length'
  | 'body-hostile'
  | 'body-no-server-error'
  | 'body-many-events'
  | 'slow-clients';

/** Options for {@link describeAdapterConformance}. */
export interface AdapterConformanceOptions {
  /**
   * Starts a real HTTP server on `127.0.0.1` (a free port) with your adapter
   * mounted for `webhooks` on every method, and answers its URL. Called once or
   * more per test, each time with a fresh `webhooks`.
   */
  start(webhooks: Webhooks): Promise<AdapterServer>;
  /**
   * Documented ways your stack falls short of a case. Nothing is skipped: each case
   * named here runs, and asserts exactly the documented behaviour instead, so it fails
   * (telling you to update your docs) the day the limitation disappears.
   */
  limitations?: AdapterConformanceLimitations;
}

/** The limitations {@link AdapterConformanceOptions.limitations} accepts, each with its reason. */
export interface AdapterConformanceLimitations {
  /**
   * Something reads the whole body before the adapter (a body parser mounted first, a
   * middleware), so a partial body from a refused or unauthenticated caller is waited for
   * rather than answered at once. Asserted instead: no answer in 500 ms while the body is
   * incomplete, then core's 403 or 401 within a second of its last byte.
   */
  'slow-unauthenticated'?: { reason: string };
  /**
   * Something decodes the body before the adapter (to text, or to JSON re-serialised),
   * so core judges that reading, not the bytes sent. Asserted instead: each hostile body
   * is answered within a second exactly as core answers `reading(bytes)`, and at least
   * one differently from core's answer to the bytes themselves.
   */
  'body-hostile'?: {
    reason: string;
    /** What your stack hands core for the bytes sent. */
    reading(bytes: Uint8Array): WebhookBody;
  };
}

const limitationNames = ['slow-unauthenticated', 'body-hostile'] as const;
const pkg = '@c2p/testing';

/** Throws naming the option path for a limitation the suite does not know or a malformed one. */
function checkLimitations(limitations: AdapterConformanceLimitations | undefined): void {
  if (limitations === undefined) return;
  for (const [name, limitation] of Object.entries(limitations)) {
    const path = `options.limitations['${name}']`;
    if (!(limitationNames as readonly string[]).includes(name)) {
      throw invalidOption(
        path,
        `is not a case with a documented limitation (${limitationNames.join(', ')})`,
        pkg,
      );
    }
    const { reason, reading } = (limitation ?? {}) as { reason?: unknown; reading?: unknown };
    if (typeof reason !== 'string' || reason.trim() === '') {
      throw invalidOption(`${path}.reason`, 'must say why, as a non-empty string', pkg);
    }
    if (name === 'body-hostile' && typeof reading !== 'function') {
      throw invalidOption(`${path}.reading`, 'must be a function of the bytes sent', pkg);
    }
  }
}

/** The credentials the suite's `webhooks` accept. */
export const conformanceCredentials = { username: 'clik2pay', password: 'conformance:s3cret' };

/** A second pair, accepted beside the first in the fuzzed-credentials case (a rotation). */
const rotatedCredentials = { username: 'clik2pay-next', password: 'pässwörd:ünïcode' };

/**
 * The Node HTTP server settings `start` must apply (`http.createServer(conformanceServerOptions, app)`,
 * Fastify's `serverFactory`, `serve({ serverOptions })` of @hono/node-server): the slow-client case
 * expects a slowloris header cut after `headersTimeout` and a trickled body after `requestTimeout`.
 */
export const conformanceServerOptions = {
  headersTimeout: 1_000,
  requestTimeout: 2_000,
  connectionsCheckingInterval: 100,
} as const;

/** Content types a genuine delivery is accepted with: c2p reads the bytes, whatever the label. */
const contentTypes = [
  null,
  '',
  'garbage',
  'application/',
  'application/json;;',
  'application/json; charset=utf-8; charset=utf-8',
  'text/plain',
  'application/x-www-form-urlencoded',
  'multipart/form-data',
  'application/octet-stream',
];

const JSON_TYPE = 'application/json; charset=utf-8';
const MiB = 1024 * 1024;

/**
 * Runs the adapter conformance suite: every row of c2p's status table and the
 * client-IP, size, idempotency and batch rules, through real HTTP with `fetch`,
 * asserting the exact status, headers and body, so every adapter answers as core decides.
 *
 * @example
 * describeAdapterConformance('my-adapter', {
 *   start: async (webhooks) => {
 *     const server = await listen(myFramework(webhooks), 0, '127.0.0.1');
 *     return { url: `http://127.0.0.1:${server.port}/webhooks/clik2pay`, close: () => server.stop() };
 *   },
 * });
 */
export function describeAdapterConformance(name: string, options: AdapterConformanceOptions): void {
  checkLimitations(options.limitations);
  const limitations = options.limitations ?? {};
  const running: AdapterServer[] = [];
  const serve = async (
    config: Partial<SyncWebhooksOptions> = {},
    setup?: (webhooks: Webhooks) => void,
  ): Promise<{ url: string; seen: C2pEvent[] }> => {
    const webhooks = createWebhooks({
      credentials: conformanceCredentials,
      allowedIps: ['loopback'],
      ...config,
    });
    const seen: C2pEvent[] = [];
    webhooks.onAny((event) => {
      seen.push(event);
    });
    setup?.(webhooks);
    const server = await options.start(webhooks);
    running.push(server);
    return { url: server.url, seen };
  };
  /** A case; one with a documented limitation runs `limited` instead, which asserts it. */
  const test = (
    id: AdapterConformanceCase,
    title: string,
    fn: () => Promise<void>,
    timeoutMs?: number,
    limited?: { title: string; fn: (report: (line: string) => Promise<void>) => Promise<void> },
  ): void => {
    const limitation = (limitations as Record<string, { reason: string } | undefined>)[id];
    if (limitation && limited) {
      it(
        `${limited.title} (documented limitation: ${limitation.reason})`,
        // What the limitation looked like this run, as a test annotation (vitest 3.2 and later).
        (context) =>
          limited.fn(async (line) => {
            await (context as { annotate?: (message: string) => Promise<unknown> }).annotate?.(
              `[adapter conformance: ${name}] ${line}`,
            );
          }),
        timeoutMs,
      );
    } else it(title, fn, timeoutMs);
  };

  describe(`adapter conformance: ${name}`, () => {
    afterEach(async () => {
      await Promise.all(running.splice(0).map((server) => server.close()));
    });

    test('method', 'answers 405 with Allow: POST to any other method', async () => {
      const { url, seen } = await serve();
      for (const method of ['GET', 'PUT', 'DELETE', 'PATCH']) {
        const body = method === 'GET' ? undefined : bodyOf(createEvent());
        const response = await send(url, { method, body });
        await expectError(response, 'METHOD_NOT_ALLOWED', { allow: 'POST' });
      }
      expect(seen).toEqual([]);
    });

    test(
      'ip',
      'answers 403 to a peer outside the allowlist, before reading credentials',
      async () => {
        const { url, seen } = await serve({ allowedIps: ['203.0.113.7'] });
        await expectError(await send(url), 'IP_NOT_ALLOWED');
        await expectError(await send(url, { authorization: null }), 'IP_NOT_ALLOWED');
        expect(seen).toEqual([]);
      },
    );

    test('auth', 'answers 401 with WWW-Authenticate to missing or wrong credentials', async () => {
      const { url, seen } = await serve();
      const challenge = { 'www-authenticate': 'Basic realm="clik2pay", charset="UTF-8"' };
      for (const authorization of [
        null,
        encodeBasicAuth(conformanceCredentials.username, 'wrong'),
        'Bearer conformance',
      ]) {
        await expectError(await send(url, { authorization }), 'UNAUTHORIZED', challenge);
      }
      expect(seen).toEqual([]);
    });

    test('size-declared', 'answers 413 to a declared 1 MiB body without a handler', async () => {
      const { url, seen } = await serve();
      const response = await send(url, { body: padded(MiB), ownConnection: true });
      await expectError(response, 'PAYLOAD_TOO_LARGE');
      expect(seen).toEqual([]);
    });

    test('size-streamed', 'answers 413 to a streamed 1 MiB body without a handler', async () => {
      const { url, seen } = await serve();
      const response = await send(url, { body: streamOf(padded(MiB)), ownConnection: true });
      await expectError(response, 'PAYLOAD_TOO_LARGE');
      expect(seen).toEqual([]);
      // The server still answers afterwards.
      await expectSummary(await send(url), { received: 1, processed: 1, duplicates: 0 });
    });

    test('size-after-auth', 'checks credentials before the size of a 1 MiB body', async () => {
      const { url } = await serve();
      const response = await send(url, {
        body: padded(MiB),
        authorization: null,
        ownConnection: true,
      });
      await expectError(response, 'UNAUTHORIZED', {
        'www-authenticate': 'Basic realm="clik2pay", charset="UTF-8"',
      });
    });

    test('json', 'answers 400 to a body that is not JSON, or empty', async () => {
      const { url, seen } = await serve();
      for (const body of ['{"eventType": "PAYMENT-COMPLETED",', 'not json', '']) {
        await expectError(await send(url, { body }), 'INVALID_JSON');
      }
      expect(seen).toEqual([]);
    });

    test('payload', 'answers 422 with issues, never echoing the input', async () => {
      const { url, seen } = await serve();
      const secret = 'do-not-echo-me';
      for (const body of [
        JSON.stringify({ eventType: secret }),
        JSON.stringify([{ eventType: 'PAYMENT-COMPLETED', resource: { id: 42, note: secret } }]),
        JSON.stringify(secret),
      ]) {
        const response = await send(url, { body });
        expect(response.status).toBe(422);
        expect(response.headers.get('content-type')).toBe(JSON_TYPE);
        const text = await response.text();
        expect(text).not.toContain(secret);
        const parsed = JSON.parse(text) as { error: Record<string, unknown> };
        expect(parsed.error.code).toBe('INVALID_PAYLOAD');
        expect(parsed.error.message).toBe(errorCodes.INVALID_PAYLOAD.message);
        expect(Array.isArray(parsed.error.issues)).toBe(true);
      }
      expect(seen).toEqual([]);
    });

    test(
      'event-count',
      'answers 413 TOO_MANY_EVENTS to more events than maxEvents (default 100), running none, and takes the limit itself',
      async () => {
        const events = (count: number): string =>
          JSON.stringify(Array.from({ length: count }, () => createEvent()));
        const byDefault = await serve();
        await expectError(await send(byDefault.url, { body: events(101) }), 'TOO_MANY_EVENTS');
        expect(byDefault.seen).toEqual([]);
        await expectSummary(await send(byDefault.url, { body: events(100) }), {
          received: 100,
          processed: 100,
          duplicates: 0,
        });
        const raised = await serve({ maxEvents: 3 });
        await expectError(await send(raised.url, { body: events(4) }), 'TOO_MANY_EVENTS');
        await expectSummary(await send(raised.url, { body: events(3) }), {
          received: 3,
          processed: 3,
          duplicates: 0,
        });
        expect(raised.seen).toHaveLength(3);
      },
    );

    test(
      'payload-key-bounds',
      'answers 422 to a key field past its bound (id 256, eventType and status 64), naming it without echoing it',
      async () => {
        const { url, seen } = await serve();
        const mark = 'do-not-echo-me-';
        const huge = { eventType: 'PAYMENT-COMPLETED', resource: { id: mark.repeat(4000) } };
        const cases: Array<[unknown, string, number]> = [
          [huge, 'resource.id', 256],
          [{ eventType: mark.repeat(5), resource: { id: 'pr-1' } }, 'eventType', 64],
          [
            { eventType: 'PAYMENT-COMPLETED', resource: { id: 'pr-1', status: mark.repeat(5) } },
            'resource.status',
            64,
          ],
        ];
        for (const [event, path, max] of cases) {
          await expectIssues(await send(url, { body: JSON.stringify([event]) }), mark, [
            { path: `[0].${path}`, message: `must be at most ${max} characters` },
          ]);
        }
        expect(seen).toEqual([]);
        // At the bounds, accepted.
        const longest = {
          eventType: 'E'.repeat(64),
          resource: { id: 'i'.repeat(256), status: 'S'.repeat(64) },
        };
        const ok = { received: 1, processed: 1, duplicates: 0 };
        await expectSummary(await send(url, { body: JSON.stringify(longest) }), ok);
        expect(seen.map((event) => event.resource.id)).toEqual([longest.resource.id]);
      },
    );

    test(
      'payload-key-unsafe',
      'answers 422 to a key field holding a control character or a lone surrogate (two such ids could share one stored key)',
      async () => {
        const { url, seen } = await serve();
        const mark = 'do-not-echo-me';
        const message = 'must not contain control characters or unpaired surrogates';
        for (const odd of ['\u0000', '\r\n', '\u007f', '\ud800', '\udc00']) {
          const cases: Array<[unknown, string]> = [
            [{ eventType: 'PAYMENT-COMPLETED', resource: { id: `${mark}${odd}` } }, 'resource.id'],
            [{ eventType: `${mark}${odd}`, resource: { id: 'pr-1' } }, 'eventType'],
            [
              { eventType: 'PAYMENT-COMPLETED', resource: { id: 'pr-1', status: `${odd}${mark}` } },
              'resource.status',
            ],
          ];
          for (const [event, path] of cases) {
            // JSON.stringify escapes each of these, so the bytes on the wire are ASCII.
            await expectIssues(await send(url, { body: JSON.stringify(event) }), mark, [
              { path, message },
            ]);
          }
        }
        expect(seen).toEqual([]);
        // Paired surrogates and combining marks are ordinary text, and stay apart.
        const ids = ['pr-\ud83d\ude00', 'pr-\ud83d\ude01', 'caf\u00e9', 'cafe\u0301'];
        const body = JSON.stringify(
          ids.map((id) => ({ eventType: 'PAYMENT-COMPLETED', resource: { id } })),
        );
        await expectSummary(await send(url, { body }), {
          received: 4,
          processed: 4,
          duplicates: 0,
        });
        expect(seen.map((event) => event.resource.id)).toEqual(ids);
      },
    );

    test('in-progress', 'answers 409 while another delivery of the event is running', async () => {
      let entered!: () => void;
      const inHandler = new Promise<void>((resolve) => {
        entered = resolve;
      });
      let release!: () => void;
      const gate = new Promise<void>((resolve) => {
        release = resolve;
      });
      const { url } = await serve({}, (webhooks) =>
        webhooks.onAny(async () => {
          entered();
          await gate;
        }),
      );
      const body = bodyOf(createEvent());
      const first = send(url, { body });
      await inHandler;
      await expectError(await send(url, { body }), 'IN_PROGRESS');
      release();
      await expectSummary(await first, { received: 1, processed: 1, duplicates: 0 });
    });

    test('handler-failed', 'answers 500 when a handler throws, then 200 on the retry', async () => {
      let calls = 0;
      const { url } = await serve({}, (webhooks) =>
        webhooks.on('PAYMENT-COMPLETED', () => {
          if (++calls === 1) throw new Error('the database is down: do-not-echo-me');
        }),
      );
      const body = bodyOf(createEvent());
      const failed = await send(url, { body });
      await expectError(failed, 'HANDLER_FAILED');
      await expectSummary(await send(url, { body }), { received: 1, processed: 1, duplicates: 0 });
      expect(calls).toBe(2);
    });

    test('store-unavailable', 'answers 503 when the store cannot be reached', async () => {
      const down = (): never => {
        throw new C2pError('STORE_UNAVAILABLE', { cause: new Error('connection refused') });
      };
      const store: IdempotencyStore = {
        claim: async () => down(),
        complete: async () => down(),
        release: async () => down(),
      };
      const { url, seen } = await serve({ store });
      await expectError(await send(url), 'STORE_UNAVAILABLE');
      expect(seen).toEqual([]);
    });

    test('ok', 'answers 200 with the summary, for an array or a single object', async () => {
      const { url, seen } = await serve();
      const array = createEvent();
      await expectSummary(await send(url, { body: JSON.stringify([array]) }), {
        received: 1,
        processed: 1,
        duplicates: 0,
      });
      const object = createEvent({ kind: 'payment' });
      await expectSummary(await send(url, { body: JSON.stringify(object) }), {
        received: 1,
        processed: 1,
        duplicates: 0,
      });
      expect(seen.map((event) => event.resource.id)).toEqual([
        array.resource.id,
        object.resource.id,
      ]);
      expect(seen.map((event) => event.kind)).toEqual(['payment-request', 'payment']);
    });

    test(
      'duplicate',
      'answers 200 to a repeated delivery without running the handler again',
      async () => {
        const { url, seen } = await serve();
        const body = bodyOf(createEvent());
        await expectSummary(await send(url, { body }), {
          received: 1,
          processed: 1,
          duplicates: 0,
        });
        await expectSummary(await send(url, { body }), {
          received: 1,
          processed: 0,
          duplicates: 1,
        });
        expect(seen).toHaveLength(1);
      },
    );

    test(
      'forwarded-untrusted',
      'ignores X-Forwarded-For from a peer that is not a trusted proxy',
      async () => {
        const open = await serve();
        await expectSummary(await send(open.url, { forwardedFor: '203.0.113.7' }), {
          received: 1,
          processed: 1,
          duplicates: 0,
        });
        const closed = await serve({ allowedIps: ['203.0.113.7'] });
        await expectError(
          await send(closed.url, { forwardedFor: '203.0.113.7' }),
          'IP_NOT_ALLOWED',
        );
        expect(closed.seen).toEqual([]);
      },
    );

    test('forwarded-trusted', 'reads X-Forwarded-For through a trusted proxy', async () => {
      const { url, seen } = await serve({
        allowedIps: ['203.0.113.7'],
        trustedProxies: ['loopback'],
      });
      await expectSummary(await send(url, { forwardedFor: '203.0.113.7' }), {
        received: 1,
        processed: 1,
        duplicates: 0,
      });
      await expectError(await send(url, { forwardedFor: '198.51.100.9' }), 'IP_NOT_ALLOWED');
      // A forged hop left of a denied client changes nothing.
      await expectError(
        await send(url, { forwardedFor: '203.0.113.7, 198.51.100.9' }),
        'IP_NOT_ALLOWED',
      );
      await expectError(await send(url), 'IP_NOT_ALLOWED');
      expect(seen).toHaveLength(1);
    });

    test(
      'concurrent-duplicates',
      'runs the handler once for 20 concurrent deliveries of one event',
      async () => {
        let calls = 0;
        const { url } = await serve({}, (webhooks) =>
          webhooks.onAny(async () => {
            calls++;
            await new Promise((resolve) => setTimeout(resolve, 50));
          }),
        );
        const body = bodyOf(createEvent());
        const responses = await Promise.all(Array.from({ length: 20 }, () => send(url, { body })));
        const answers = await Promise.all(
          responses.map(async (response) => ({
            status: response.status,
            body: await response.json(),
          })),
        );
        expect(calls).toBe(1);
        for (const answer of answers) expect([200, 409]).toContain(answer.status);
        const processed = answers.filter(
          (answer) =>
            answer.status === 200 && (answer.body as { processed: number }).processed === 1,
        );
        expect(processed).toHaveLength(1);
        await expectSummary(await send(url, { body }), {
          received: 1,
          processed: 0,
          duplicates: 1,
        });
        expect(calls).toBe(1);
      },
    );

    test(
      'unknown-event',
      'answers 200 to an unknown event type and calls the unknown-event handler',
      async () => {
        const unknown: C2pEvent[] = [];
        const { url } = await serve({}, (webhooks) =>
          webhooks.onUnknown((event) => {
            unknown.push(event);
          }),
        );
        const event = createEvent({ eventType: 'PAYMENT-SOMETHING-NEW' });
        await expectSummary(await send(url, { body: bodyOf(event) }), {
          received: 1,
          processed: 1,
          duplicates: 0,
        });
        expect(unknown.map((seen) => [seen.eventType, seen.resource.id])).toEqual([
          ['PAYMENT-SOMETHING-NEW', event.resource.id],
        ]);
      },
    );

    test('batch', 'processes an array of two events', async () => {
      const { url, seen } = await serve();
      const events = [createEvent(), createEvent({ eventType: 'PAYMENT-FAILED', kind: 'payment' })];
      await expectSummary(await send(url, { body: JSON.stringify(events) }), {
        received: 2,
        processed: 2,
        duplicates: 0,
      });
      expect(seen.map((event) => [event.eventType, event.resource.id])).toEqual(
        events.map((event) => [event.eventType, event.resource.id]),
      );
    });

    // ---- Hostile clients: the attacks of issue 12, identical answers from every adapter. ----

    test(
      'keep-alive-oversized',
      'answers 413 to an oversized body on a keep-alive connection and leaves it usable, or closes it saying so',
      async () => {
        const { url, seen } = await serve();
        const big = new TextEncoder().encode(padded(MiB));
        let delivered = 0;
        for (const framing of ['declared', 'chunked'] as const) {
          const connection = await RawConnection.open(url);
          try {
            // Uploaded over about 640 ms, as a slow client would: still sending when refused.
            for await (const piece of paced(rawRequest(url, { body: big, framing }))) {
              if (connection.isClosed) break;
              connection.write(piece);
            }
            const refused = await connection.response();
            expect(refused, `${framing}: the 413 reaches the client`).toBeDefined();
            expectRawError(refused as RawResponse, 'PAYLOAD_TOO_LARGE');
            if ((refused as RawResponse).headers.connection?.toLowerCase() === 'close') {
              expect(await connection.closesWithin(2_000), `${framing}: closed as announced`).toBe(
                true,
              );
            } else {
              // Kept alive: the next delivery on the same connection must be answered.
              connection.write(rawRequest(url, { body: bodyOf(createEvent()) }));
              const next = await connection.response();
              expect(
                next?.status,
                `${framing}: a delivery after the 413 on the same connection`,
              ).toBe(200);
              delivered++;
            }
          } finally {
            connection.destroy();
          }
        }
        // As a real client with one keep-alive connection sees it: the next delivery succeeds.
        const client = new Client(new URL(url).origin, { pipelining: 1 });
        try {
          const refused = await client.request({
            path: pathOf(url),
            method: 'POST',
            headers: {
              authorization: validAuthorization(),
              'content-type': 'application/json',
              'content-length': String(big.byteLength),
            },
            body: Readable.from(paced(big)),
          });
          expect(refused.statusCode, 'through undici').toBe(413);
          await refused.body.text();
          const next = await client.request({
            path: pathOf(url),
            method: 'POST',
            headers: { authorization: validAuthorization(), 'content-type': 'application/json' },
            body: bodyOf(createEvent()),
          });
          expect(next.statusCode, 'a delivery after the 413 through undici').toBe(200);
          await next.body.text();
        } finally {
          await client.destroy();
        }
        expect(seen).toHaveLength(delivered + 1);
      },
      15_000,
    );

    test(
      'content-type',
      'takes any content type: 403 from a refused IP whatever it says, 200 with valid credentials',
      async () => {
        const refused = await serve({ allowedIps: ['203.0.113.7'] });
        for (const contentType of ['garbage', 'application/json', null]) {
          expectRawError(
            await exchange(refused.url, { contentType, body: bodyOf(createEvent()) }),
            'IP_NOT_ALLOWED',
          );
        }
        const open = await serve();
        for (const contentType of contentTypes) {
          const response = await exchange(open.url, { contentType, body: bodyOf(createEvent()) });
          expect(
            { contentType, status: response.status, body: response.body },
            'a genuine delivery whatever its content type',
          ).toEqual({
            contentType,
            status: 200,
            body: JSON.stringify({ received: 1, processed: 1, duplicates: 0 }),
          });
        }
        expect(refused.seen).toEqual([]);
        expect(open.seen).toHaveLength(contentTypes.length);
      },
      10_000,
    );

    /** A partial body (4 KiB declared, 100 bytes sent) from each kind of caller refused before it. */
    const slowRefusedCallers = async () => {
      const { url, seen } = await serve();
      const refused = await serve({ allowedIps: ['203.0.113.7'] });
      const cases = [
        { target: url, authorization: null, code: 'UNAUTHORIZED' },
        {
          target: url,
          authorization: encodeBasicAuth(conformanceCredentials.username, 'wrong'),
          code: 'UNAUTHORIZED',
        },
        { target: refused.url, authorization: undefined, code: 'IP_NOT_ALLOWED' },
      ] as const;
      const noneSeen = (): void => {
        expect(seen).toEqual([]);
        expect(refused.seen).toEqual([]);
      };
      return { cases, noneSeen };
    };
    const slowStart = async (target: string, authorization: string | null | undefined) => {
      const connection = await RawConnection.open(target);
      connection.write(rawRequest(target, { authorization, length: 4_096 }));
      connection.write('['.repeat(100));
      return connection;
    };

    test(
      'slow-unauthenticated',
      'answers a partial body from a refused or unauthenticated caller at once, without waiting for it',
      async () => {
        const { cases, noneSeen } = await slowRefusedCallers();
        for (const { target, authorization, code } of cases) {
          const connection = await slowStart(target, authorization);
          try {
            const response = await connection.response(1_000).catch(() => undefined);
            expect(response?.status, `${code}: answered within 1 s, before the body`).toBe(
              errorCodes[code].status,
            );
            expectRawError(response as RawResponse, code);
          } finally {
            connection.destroy();
          }
        }
        noneSeen();
      },
      undefined,
      {
        title:
          'waits for the whole partial body of a refused or unauthenticated caller, then answers 403 or 401',
        fn: async (report) => {
          const { cases, noneSeen } = await slowRefusedCallers();
          const quietMs = 500;
          const answers = await Promise.all(
            cases.map(async ({ target, authorization, code }) => {
              const connection = await slowStart(target, authorization);
              try {
                const early = await connection.response(quietMs).then(
                  (response) => response?.status ?? 'closed',
                  () => 'none',
                );
                expect(
                  early,
                  `${code}: no answer in ${quietMs} ms while the body is incomplete; an answer means this limitation is gone: remove it and update your docs`,
                ).toBe('none');
                connection.write('['.repeat(4_096 - 100));
                const response = await connection.response(1_000);
                expect(response, `${code}: answered once the body is complete`).toBeDefined();
                expectRawError(response as RawResponse, code);
                return `${code} ${response?.status} ${Math.round(response?.elapsedMs ?? 0)} ms after the last byte`;
              } finally {
                connection.destroy();
              }
            }),
          );
          noneSeen();
          await report(
            `slow-unauthenticated, a documented limitation: ${answers.length} of ${cases.length} partial bodies unanswered for ${quietMs} ms, then refused (${answers.join('; ')})`,
          );
        },
      },
    );

    test(
      'auth-repeated',
      'answers 401 to two Authorization headers, even when one or both are genuine',
      async () => {
        const { url, seen } = await serve();
        const valid = validAuthorization();
        const wrong = encodeBasicAuth(conformanceCredentials.username, 'wrong');
        for (const authorization of [
          [valid, wrong],
          [wrong, valid],
          [valid, valid],
        ]) {
          const response = await exchange(url, { authorization, body: bodyOf(createEvent()) });
          expectRawError(response, 'UNAUTHORIZED', {
            'www-authenticate': 'Basic realm="clik2pay", charset="UTF-8"',
          });
        }
        expect(seen).toEqual([]);
      },
    );

    test(
      'path-exact',
      'answers 404 to any other spelling of the path: other case, trailing slash, sub-path',
      async () => {
        const { url, seen } = await serve();
        const { origin, pathname } = new URL(url);
        for (const path of [
          pathname.toUpperCase(),
          `${pathname}/`,
          `${pathname}/x`,
          `${pathname}x`,
        ]) {
          const response = await send(`${origin}${path}`);
          expect({ path, status: response.status }).toEqual({ path, status: 404 });
          await response.arrayBuffer();
        }
        expect(seen).toEqual([]);
        // A query string does not change the path.
        await expectSummary(await send(`${url}?attempt=1`), {
          received: 1,
          processed: 1,
          duplicates: 0,
        });
      },
    );

    test(
      'auth-fuzz',
      'lets only the configured pairs through 300 fuzzed Authorization headers, never a 5xx',
      async () => {
        const pairs = [conformanceCredentials, rotatedCredentials];
        const { url, seen } = await serve({ credentials: pairs });
        const cases = fc.sample(authorizationCases(pairs, { wire: true, maxHeaderChars: 12_000 }), {
          numRuns: 300,
          seed: 12,
        });
        // Four keep-alive connections at once; each request its own event, so every
        // accepted one is processed and none waits on another's claim.
        const agent = new HttpAgent({ keepAlive: true, maxSockets: 4 });
        const counts = { accepted: 0, refused: 0, tooLarge: 0 };
        const check = async (c: AuthorizationCase): Promise<void> => {
          const { status, headers } = await postWithNode(
            url,
            agent,
            c.headers,
            bodyOf(createEvent()),
          );
          const label = `${c.kind}: ${JSON.stringify(c.headers).slice(0, 200)}`;
          expect(status, label).toBeLessThan(500);
          if (c.accept) {
            expect(status, label).toBe(200);
            counts.accepted++;
          } else if (status === 431) {
            // Node refuses a header block over its limit before any adapter runs.
            expect(c.headers.join('').length, label).toBeGreaterThan(8_000);
            counts.tooLarge++;
          } else {
            expect({ status, challenge: headers['www-authenticate'] }, label).toEqual({
              status: 401,
              challenge: 'Basic realm="clik2pay", charset="UTF-8"',
            });
            counts.refused++;
          }
        };
        try {
          let next = 0;
          await Promise.all(
            Array.from({ length: 4 }, async () => {
              while (next < cases.length) await check(cases[next++] as AuthorizationCase);
            }),
          );
        } finally {
          agent.destroy();
        }
        expect(seen).toHaveLength(counts.accepted);
        expect(counts.accepted).toBeGreaterThan(20);
        expect(counts.refused).toBeGreaterThan(150);
      },
      20_000,
    );

    test(
      'body-lying-length',
      'answers a lying or contradictory Content-Length with a 4xx at once, and keeps serving',
      async () => {
        const { url, seen } = await serve();
        const body = new TextEncoder().encode(bodyOf(createEvent()));
        // Shorter than the body: the server takes the declared bytes, and core refuses the cut
        // JSON at once; the rest, sent after, is a malformed next request the server refuses.
        const cut = body.byteLength - 5;
        const shortened = await RawConnection.open(url);
        try {
          shortened.write(rawRequest(url, { body: body.subarray(0, cut), length: cut }));
          const response = await shortened.response(1_000);
          expect(response, 'an answer to the declared bytes').toBeDefined();
          expectRawError(response as RawResponse, 'INVALID_JSON');
          shortened.write(body.subarray(cut));
          const next = await shortened.response(1_000);
          if (next !== undefined) expect(next.status).toBe(400);
        } finally {
          shortened.destroy();
        }
        // Longer than the body, then the client stops sending: refused or closed, at once.
        const connection = await RawConnection.open(url);
        try {
          connection.write(rawRequest(url, { body, length: body.byteLength + 100 }));
          connection.end();
          const response = await connection.response(1_000);
          if (response !== undefined) {
            expect(response.status).toBeGreaterThanOrEqual(400);
            expect(response.status).toBeLessThan(500);
          }
        } finally {
          connection.destroy();
        }
        // Framing a server must refuse (request smuggling): 400 before any adapter runs.
        for (const headers of [
          [
            ['content-length', String(body.byteLength)],
            ['transfer-encoding', 'chunked'],
          ],
          [['content-length', 'abc']],
          [['content-length', '-1']],
          [
            ['content-length', String(body.byteLength)],
            ['content-length', '3'],
          ],
        ] as Array<Array<[string, string]>>) {
          const response = await exchange(url, { body, framing: 'none', extraHeaders: headers });
          expect({ headers, status: response.status }).toEqual({ headers, status: 400 });
        }
        expect(seen).toEqual([]);
        await expectSummary(await send(url), { received: 1, processed: 1, duplicates: 0 });
      },
      10_000,
    );

    /** Core's own answer to `body` as this suite's server would get it. */
    const coreAnswer = (webhooks: Webhooks, body: WebhookBody, byteLength: number) =>
      webhooks.handle({
        method: 'POST',
        header: (header) =>
          header === 'authorization'
            ? validAuthorization()
            : header === 'content-length'
              ? String(byteLength)
              : undefined,
        body,
        peerAddress: '127.0.0.1',
      });
    const hostileConfig = {
      credentials: conformanceCredentials,
      allowedIps: ['loopback'],
      maxBodyBytes: 1 * MiB,
    };

    test(
      'body-hostile',
      'answers deep nesting, invalid UTF-8 and NUL bytes exactly as core does, a 4xx within a second',
      async () => {
        const { url, seen } = await serve(hostileConfig);
        const reference = createWebhooks(hostileConfig);
        const bodies = hostileBodies();
        for (const [name, bytes] of Object.entries(bodies)) {
          const expected = await coreAnswer(reference, bytes, bytes.byteLength);
          expect(expected.status, `${name}: core refuses it`).toBeGreaterThanOrEqual(400);
          const response = await exchange(url, { body: bytes });
          expect({ name, status: response.status, body: response.body }).toEqual({
            name,
            status: expected.status,
            body: expected.body,
          });
          expect(response.elapsedMs, name).toBeLessThan(1_000);
        }
        expect(seen).toEqual([]);
        await expectSummary(await send(url), { received: 1, processed: 1, duplicates: 0 });
      },
      10_000,
      {
        title:
          "answers deep nesting, invalid UTF-8 and NUL bytes as core answers the stack's reading of them, within a second",
        fn: async (report) => {
          const { reading } = limitations['body-hostile'] as NonNullable<
            AdapterConformanceLimitations['body-hostile']
          >;
          const { url, seen } = await serve(hostileConfig);
          const ofBytes = createWebhooks(hostileConfig);
          const ofReading = createWebhooks(hostileConfig);
          const bodies = Object.entries(hostileBodies());
          const differ: string[] = [];
          let accepted = 0;
          for (const [body, bytes] of bodies) {
            const expected = await coreAnswer(ofReading, reading(bytes), bytes.byteLength);
            const response = await exchange(url, { body: bytes });
            expect({ body, status: response.status, answer: response.body }).toEqual({
              body,
              status: expected.status,
              answer: expected.body,
            });
            expect(response.elapsedMs, body).toBeLessThan(1_000);
            if (response.status === 200) accepted++;
            const strict = await coreAnswer(ofBytes, bytes, bytes.byteLength);
            if (strict.status !== response.status || strict.body !== response.body) {
              differ.push(`${body}: ${response.status} (core on the bytes: ${strict.status})`);
            }
          }
          await report(
            `body-hostile, a documented limitation: ${differ.length} of ${bodies.length} hostile bodies answered otherwise than core answers their bytes (${differ.join('; ')})`,
          );
          expect(
            differ.length,
            'every hostile body was answered as core answers its bytes: this limitation is gone; remove it and update your docs',
          ).toBeGreaterThan(0);
          expect(seen).toHaveLength(accepted);
          await expectSummary(await send(url), { received: 1, processed: 1, duplicates: 0 });
        },
      },
    );

    test(
      'body-no-server-error',
      'never answers a hostile body with a 5xx, whatever ran before the adapter, and keeps serving',
      async () => {
        const { url, seen } = await serve({ maxBodyBytes: 1 * MiB });
        let accepted = 0;
        for (const [name, bytes] of Object.entries(hostileBodies())) {
          const response = await exchange(url, { body: bytes });
          expect({ name, serverError: response.status >= 500 }).toEqual({
            name,
            serverError: false,
          });
          expect(response.elapsedMs, name).toBeLessThan(1_000);
          if (response.status === 200) accepted++;
        }
        // A stack that decodes text first may take a mangled body as an event: only with a 200.
        expect(seen).toHaveLength(accepted);
        await expectSummary(await send(url), { received: 1, processed: 1, duplicates: 0 });
      },
      10_000,
    );

    test(
      'body-many-events',
      'answers 100,000 events in one body (the last one invalid) as core does, under a raised limit, then keeps serving',
      async () => {
        const { url, seen } = await serve({
          maxBodyBytes: manyEvents.maxBodyBytes,
          maxEvents: manyEvents.maxEvents,
        });
        const { body, expected } = await manyEvents.get();
        const refused = await exchange(url, { body }, 20_000);
        expect({ status: refused.status, body: refused.body }).toEqual({
          status: expected.status,
          body: expected.body,
        });
        expect(seen).toEqual([]);
        // A large valid batch goes through whole.
        const accepted = await exchange(url, { body: manyEvents.valid(1_000) }, 20_000);
        expect({ status: accepted.status, body: accepted.body }).toEqual({
          status: 200,
          body: JSON.stringify({ received: 1_000, processed: 1_000, duplicates: 0 }),
        });
        expect(seen).toHaveLength(1_000);
        await expectSummary(await send(url), { received: 1, processed: 1, duplicates: 0 });
      },
      30_000,
    );

    test(
      'slow-clients',
      'cuts slowloris headers and trickled bodies by the server timeouts, answering real deliveries meanwhile',
      async () => {
        const { url, seen } = await serve();
        const { headersTimeout, requestTimeout } = conformanceServerOptions;
        const slow: RawConnection[] = [];
        const timers: Array<ReturnType<typeof setInterval>> = [];
        try {
          for (let i = 0; i < 10; i++) {
            // Slowloris: a header line, then one byte of the next every 100 ms, never ending.
            const loris = await RawConnection.open(url);
            loris.write(`POST ${pathOf(url)} HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Slow: `);
            timers.push(setInterval(() => loris.write('a'), 100));
            slow.push(loris);
            // Trickled body: genuine headers, then one byte every 100 ms of a 4 KiB body.
            const trickle = await RawConnection.open(url);
            trickle.write(rawRequest(url, { length: 4_096 }));
            timers.push(setInterval(() => trickle.write('['), 100));
            slow.push(trickle);
          }
          const started = performance.now();
          const deadline = started + requestTimeout + 1_500;
          const latencies: number[] = [];
          while (performance.now() < deadline && slow.some((connection) => !connection.isClosed)) {
            const before = performance.now();
            const response = await send(url);
            latencies.push(performance.now() - before);
            expect(response.status).toBe(200);
            await response.arrayBuffer();
            await new Promise((resolve) => setTimeout(resolve, 100));
          }
          const open = slow.filter((connection) => !connection.isClosed).length;
          expect(
            open,
            `slow connections still open ${requestTimeout + 1_500} ms after they started (headersTimeout ${headersTimeout} ms, requestTimeout ${requestTimeout} ms)`,
          ).toBe(0);
          expect(latencies.length).toBeGreaterThan(0);
          expect(Math.max(...latencies), 'slowest real delivery meanwhile, ms').toBeLessThan(1_000);
        } finally {
          for (const timer of timers) clearInterval(timer);
          for (const connection of slow) connection.destroy();
        }
        expect(seen.length).toBeGreaterThan(0);
      },
      15_000,
    );
  });
}

interface SendOptions {
  method?: string;
  /** Defaults to one valid event. */
  body?: string | ReadableStream<Uint8Array> | undefined;
  /** Defaults to the suite's credentials; `null` sends none. */
  authorization?: string | null;
  forwardedFor?: string;
  /**
   * Sends on a connection of its own. For bodies the server answers before reading:
   * whether a runtime keeps such a connection for the next request is transport
   * behaviour (@hono/node-server drains, then may close it), not the adapter's.
   */
  ownConnection?: boolean;
}

async function send(url: string, options: SendOptions = {}): Promise<Response> {
  const headers: Record<string, string> = { 'content-type': 'application/json' };
  const authorization =
    options.authorization === undefined
      ? encodeBasicAuth(conformanceCredentials.username, conformanceCredentials.password)
      : options.authorization;
  if (authorization !== null) headers.authorization = authorization;
  if (options.forwardedFor) headers['x-forwarded-for'] = options.forwardedFor;
  const body = 'body' in options ? options.body : bodyOf(createEvent());
  const init: RequestInit & { duplex?: 'half' } = {
    method: options.method ?? 'POST',
    headers,
    body,
    redirect: 'manual',
  };
  if (body instanceof ReadableStream) init.duplex = 'half';
  if (!options.ownConnection) return fetch(url, init);
  const agent = new Agent();
  const response = await fetch(url, { ...init, dispatcher: agent } as RequestInit);
  const text = await response.text();
  await agent.destroy();
  return new Response(text, { status: response.status, headers: response.headers });
}

/**
 * Bodies a hostile client sends with genuine credentials: 100,000 brackets (under the
 * 100 KB default limit of a body parser mounted first), invalid UTF-8, NUL bytes, UTF-16.
 */
function hostileBodies(): Record<string, Uint8Array> {
  const event = bodyOf(createEvent());
  return {
    'nested arrays': latin1(`${'['.repeat(50_000)}${']'.repeat(50_000)}`),
    'unclosed arrays': latin1('['.repeat(100_000)),
    'nested objects': latin1(`${'{"a":'.repeat(16_000)}1${'}'.repeat(16_000)}`),
    'invalid UTF-8': Uint8Array.from([0x5b, 0xff, 0xfe, 0xc3, 0x28, 0x5d]),
    'invalid UTF-8 in a string': latin1(event.replace('"id":"', '"id":"\xff\xc3(')),
    'a lone surrogate, CESU-8': latin1(event.replace('"id":"', '"id":"\xed\xa0\x80')),
    'NUL bytes': latin1(`${event}\0\0`),
    'a UTF-16 body': new Uint8Array(
      Array.from(`\ufeff${event}`).flatMap((char) => [
        char.charCodeAt(0) & 0xff,
        char.charCodeAt(0) >> 8,
      ]),
    ),
  };
}

/** 100,000 events, the last without its resource id, and core's own answer to them (computed once). */
const manyEvents = {
  maxBodyBytes: 16 * MiB,
  maxEvents: 100_000,
  event: (i: number) =>
    `{"eventType":"PAYMENT-COMPLETED","resource":{"id":"pr-${i}","status":"PAID"}}`,
  valid: (count: number) =>
    `[${Array.from({ length: count }, (_, i) => manyEvents.event(i)).join(',')}]`,
  cached: undefined as
    | Promise<{ body: string; expected: { status: number; body: string } }>
    | undefined,
  get() {
    manyEvents.cached ??= (async () => {
      const events = Array.from({ length: 100_000 }, (_, i) => manyEvents.event(i));
      events[events.length - 1] = '{"eventType":"PAYMENT-COMPLETED","resource":{}}';
      const body = `[${events.join(',')}]`;
      const reference = createWebhooks({
        credentials: conformanceCredentials,
        allowedIps: ['loopback'],
        maxBodyBytes: manyEvents.maxBodyBytes,
        maxEvents: manyEvents.maxEvents,
      });
      const expected = await reference.handle({
        method: 'POST',
        header: (name) => (name === 'authorization' ? validAuthorization() : undefined),
        body,
        peerAddress: '127.0.0.1',
      });
      expect(expected.status).toBe(422);
      return { body, expected };
    })();
    return manyEvents.cached;
  },
};

interface RawRequestOptions {
  method?: string;
  /** Defaults to the suite's credentials; `null` sends none; several values send one line each. */
  authorization?: string | readonly string[] | null | undefined;
  /** Defaults to `application/json`; `null` sends none. */
  contentType?: string | null;
  body?: string | Uint8Array;
  /** `declared` (Content-Length, the default), `chunked` (16 KiB chunks) or `none`. */
  framing?: 'declared' | 'chunked' | 'none';
  /** The Content-Length to declare, if not the body's. */
  length?: number;
  extraHeaders?: ReadonlyArray<readonly [string, string]>;
}

/** A request's bytes exactly as given: what `fetch` would refuse to send, too. */
function rawRequest(url: string, options: RawRequestOptions = {}): Buffer {
  const body =
    typeof options.body === 'string'
      ? new TextEncoder().encode(options.body)
      : (options.body ?? new Uint8Array(0));
  const headers: Array<readonly [string, string]> = [['host', new URL(url).host]];
  const authorization =
    options.authorization === undefined ? validAuthorization() : options.authorization;
  for (const value of typeof authorization === 'string' ? [authorization] : (authorization ?? [])) {
    headers.push(['authorization', value]);
  }
  const contentType = options.contentType === undefined ? 'application/json' : options.contentType;
  if (contentType !== null) headers.push(['content-type', contentType]);
  const framing = options.framing ?? 'declared';
  if (framing === 'declared') {
    headers.push(['content-length', String(options.length ?? body.byteLength)]);
  }
  if (framing === 'chunked') headers.push(['transfer-encoding', 'chunked']);
  headers.push(...(options.extraHeaders ?? []));
  const head = Buffer.from(requestHead(options.method ?? 'POST', pathOf(url), headers), 'latin1');
  if (framing !== 'chunked') return Buffer.concat([head, body]);
  return Buffer.concat([head, ...Array.from(chunksOf(body), chunk), Buffer.from('0\r\n\r\n')]);
}

/** Sends one raw request on a connection of its own and answers the response. */
async function exchange(
  url: string,
  options: RawRequestOptions,
  timeoutMs = 5_000,
): Promise<RawResponse> {
  const connection = await RawConnection.open(url);
  try {
    connection.write(rawRequest(url, options));
    const response = await connection.response(timeoutMs);
    if (!response) throw new Error('the server closed the connection without a response');
    return response;
  } finally {
    connection.destroy();
  }
}

/** POSTs through node:http, which sends an array of values as one header line each. */
function postWithNode(
  url: string,
  agent: HttpAgent,
  authorization: readonly string[],
  body: string,
): Promise<{ status: number; headers: Record<string, string | string[] | undefined> }> {
  const headers: Record<string, string | string[]> = {
    'content-type': 'application/json',
    'content-length': String(Buffer.byteLength(body)),
  };
  if (authorization.length === 1) headers.authorization = authorization[0] as string;
  else if (authorization.length > 1) headers.authorization = [...authorization];
  return new Promise((resolve, reject) => {
    const request = httpRequest(url, { method: 'POST', agent, headers }, (response) => {
      response.resume();
      response.on('error', reject);
      response.on('end', () =>
        resolve({ status: response.statusCode ?? 0, headers: response.headers }),
      );
    });
    request.on('error', reject);
    request.end(body);
  });
}

function validAuthorization(): string {
  return encodeBasicAuth(conformanceCredentials.username, conformanceCredentials.password);
}

/** The path and query of `url`. */
function pathOf(url: string): string {
  const { pathname, search } = new URL(url);
  return `${pathname}${search}`;
}

/**
 * `bytes` in 16 pieces 40 ms apart: an upload still going when the server answers, and
 * longer than the 500 ms for which @hono/node-server drains a body it did not read.
 */
async function* paced(bytes: Uint8Array): AsyncGenerator<Uint8Array> {
  const size = Math.ceil(bytes.byteLength / 16);
  for (const piece of chunksOf(bytes, size)) {
    yield piece;
    await new Promise((resolve) => setTimeout(resolve, 40));
  }
}

function* chunksOf(bytes: Uint8Array, size = 16_384): Generator<Uint8Array> {
  for (let offset = 0; offset < bytes.byteLength; offset += size) {
    yield bytes.subarray(offset, offset + size);
  }
}

/** One byte per UTF-16 unit (all below 256 here): lets a test spell bytes that are not UTF-8. */
function latin1(text: string): Uint8Array {
  return Uint8Array.from(text, (char) => char.charCodeAt(0));
}

function expectRawError(
  response: RawResponse,
  code: C2pErrorCode,
  headers: Record<string, string> = {},
): void {
  const { status, message } = errorCodes[code];
  expect({ status: response.status, body: response.body }).toEqual({
    status,
    body: JSON.stringify({ error: { code, message } }),
  });
  expect(response.headers['content-type']).toBe(JSON_TYPE);
  for (const [name, value] of Object.entries(headers)) expect(response.headers[name]).toBe(value);
}

function bodyOf(event: FactoryEvent): string {
  return JSON.stringify([event]);
}

/** A valid event padded to `bytes` with an unknown field, so only its size is wrong. */
function padded(bytes: number): string {
  return JSON.stringify([createEvent({ fields: { padding: 'x'.repeat(bytes) } })]);
}

/** The same text as a stream of 16 KiB chunks, sent chunked, without Content-Length. */
function streamOf(text: string): ReadableStream<Uint8Array> {
  const bytes = new TextEncoder().encode(text);
  let offset = 0;
  return new ReadableStream<Uint8Array>({
    pull(controller) {
      if (offset >= bytes.byteLength) return controller.close();
      controller.enqueue(bytes.slice(offset, offset + 16_384));
      offset += 16_384;
    },
  });
}

async function expectError(
  response: Response,
  code: C2pErrorCode,
  headers: Record<string, string> = {},
): Promise<void> {
  const { status, message } = errorCodes[code];
  expect({ status: response.status, body: await response.text() }).toEqual({
    status,
    body: JSON.stringify({ error: { code, message } }),
  });
  expect(response.headers.get('content-type')).toBe(JSON_TYPE);
  for (const [name, value] of Object.entries(headers)) {
    expect(response.headers.get(name)).toBe(value);
  }
  if (!('www-authenticate' in headers)) expect(response.headers.get('www-authenticate')).toBe(null);
}

/** Expects a 422 `INVALID_PAYLOAD` with exactly `issues`, and no trace of `mark` in the answer. */
async function expectIssues(
  response: Response,
  mark: string,
  issues: Array<{ path: string; message: string }>,
): Promise<void> {
  expect(response.status).toBe(422);
  const text = await response.text();
  expect(text).not.toContain(mark);
  expect(JSON.parse(text)).toEqual({
    error: { code: 'INVALID_PAYLOAD', message: errorCodes.INVALID_PAYLOAD.message, issues },
  });
}

async function expectSummary(
  response: Response,
  summary: { received: number; processed: number; duplicates: number },
): Promise<void> {
  expect({ status: response.status, body: await response.text() }).toEqual({
    status: 200,
    body: JSON.stringify(summary),
  });
  expect(response.headers.get('content-type')).toBe(JSON_TYPE);
}
