import {
  C2pError,
  type C2pErrorCode,
  type C2pEvent,
  createWebhooks,
  encodeBasicAuth,
  errorCodes,
  type IdempotencyStore,
  type Webhooks,
  type WebhooksOptions,
} from '@c2p/core';
import { Agent } from 'undici';
import { afterEach, describe, expect, it } from 'vitest';
import { createEvent, type FactoryEvent } from './create-event.js';

/** A running server with the adapter under test mounted. */
export interface AdapterServer {
  /** The full webhook URL, e.g. `http://127.0.0.1:34567/webhooks/clik2pay`. */
  url: string;
  /** Stops the server; the suite calls it after each test. */
  close(): Promise<void>;
}

/** The cases of the suite, for {@link AdapterConformanceOptions.skip}. */
export type AdapterConformanceCase =
  | 'method'
  | 'ip'
  | 'auth'
  | 'size-declared'
  | 'size-streamed'
  | 'size-after-auth'
  | 'json'
  | 'payload'
  | 'in-progress'
  | 'handler-failed'
  | 'store-unavailable'
  | 'ok'
  | 'duplicate'
  | 'forwarded-untrusted'
  | 'forwarded-trusted'
  | 'concurrent-duplicates'
  | 'unknown-event'
  | 'batch';

/** Options for {@link describeAdapterConformance}. */
export interface AdapterConformanceOptions {
  /**
   * Starts a real HTTP server on `127.0.0.1` (a free port) with your adapter
   * mounted for `webhooks` on every method, and answers its URL. Called once or
   * more per test, each time with a fresh `webhooks`.
   */
  start(webhooks: Webhooks): Promise<AdapterServer>;
  /** Cases your adapter cannot pass, each with the reason, shown as a skipped test. */
  skip?: Partial<Record<AdapterConformanceCase, string>>;
}

/** The credentials the suite's `webhooks` accept. */
export const conformanceCredentials = { username: 'clik2pay', password: 'conformance:s3cret' };

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
  const running: AdapterServer[] = [];
  const serve = async (
    config: Partial<WebhooksOptions> = {},
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
  const test = (id: AdapterConformanceCase, title: string, fn: () => Promise<void>): void => {
    const reason = options.skip?.[id];
    if (reason) it.skip(`${title} (skipped: ${reason})`, fn);
    else it(title, fn);
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
