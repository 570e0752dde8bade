import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { createMemoryInbox, createMemoryStore, createWebhooks } from '@c2p/core';
import { fromNodeRequest, writeNodeResponse } from '@c2p/core/node';
import { afterEach, describe, expect, it } from 'vitest';
import { freePort, listenClosingAfterEach, reply } from './support/listener.js';
import { c2p } from './support/run-cli.js';

// A newcomer's first mistakes with `c2p send`, each answered in one line that says what
// to do: a typo in the event type, a wrong path, a listener not running, https on an
// HTTP port, a URL without its scheme. And the fields the admin page shows
// (merchantTransactionId, a refund's payment request) set without editing JSON.

const listen = listenClosingAfterEach();
const fast = ['--backoff', '1', '--timeout', '2000'];
const auth = ['--username', 'clik2pay', '--password', 'pw'];

const closers: (() => Promise<void>)[] = [];
afterEach(async () => {
  await Promise.all(closers.splice(0).map((close) => close()));
});

/** Core's real pipeline behind node:http, in inbox or sync mode (memory inbox or store). */
async function startC2pListener(mode: 'inbox' | 'sync'): Promise<string> {
  const common = {
    credentials: { username: 'clik2pay', password: 'pw' },
    allowedIps: ['loopback'],
  };
  const webhooks =
    mode === 'inbox'
      ? createWebhooks({ ...common, inbox: createMemoryInbox() })
      : createWebhooks({ ...common, store: createMemoryStore() }).onAny(() => {});
  const server = createServer(async (req, res) => {
    writeNodeResponse(req, res, await webhooks.handle(fromNodeRequest(req)));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', () => resolve()));
  closers.push(() => new Promise((resolve) => server.close(() => resolve())));
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}/webhooks/clik2pay`;
}

describe('c2p send: an unknown event type', () => {
  it('refuses a typo with the nearest documented type, exit 2, and sends nothing', async () => {
    const listener = await listen((_req, _n, res) => reply(res, 200));
    const run = await c2p(['send', 'payment-complete', '--url', listener.url, ...auth, ...fast]);
    expect(run.code).toBe(2);
    expect(run.stdout).toBe('');
    expect(run.stderr).toBe(
      'c2p: unknown event type "payment-complete": did you mean payment-completed? (--allow-unknown sends it as typed)\n',
    );
    expect(listener.requests).toHaveLength(0);
  });

  it('suggests across case and underscores, and lists the types when nothing is close', async () => {
    expect((await c2p(['send', 'PAYMENT_FAILD', '--url', 'http://127.0.0.1:1'])).stderr).toMatch(
      /did you mean payment-failed\?/,
    );
    const far = await c2p(['send', 'refund', '--url', 'http://127.0.0.1:1']);
    expect(far.code).toBe(2);
    expect(far.stderr).toMatch(
      /unknown event type "refund": the documented types are payment-completed, payment-failed, payment-link-followed, payment-processing/,
    );
  });

  it('applies to example too', async () => {
    const run = await c2p(['example', 'payment-complete']);
    expect(run).toMatchObject({ code: 2, stdout: '' });
    expect(run.stderr).toMatch(/did you mean payment-completed\?/);
  });

  it('sends it exactly as typed with --allow-unknown', async () => {
    const listener = await listen((_req, _n, res) => reply(res, 200));
    const run = await c2p([
      'send',
      'payment-complete',
      '--allow-unknown',
      '--url',
      listener.url,
      ...auth,
      ...fast,
    ]);
    expect(run.code).toBe(0);
    expect(JSON.parse(listener.requests[0]?.body ?? '')).toMatchObject([
      { eventType: 'payment-complete' },
    ]);
  });
});

describe('c2p send: what went wrong, once, with a hint', () => {
  it('shows an HTML 404 page never, and asks about the path once', async () => {
    const page = `<!DOCTYPE html>\n<html><head><title>Error</title></head><body><pre>Cannot POST /webhook</pre></body></html>\n`;
    const listener = await listen((_req, _n, res) => {
      res.writeHead(404, { 'content-type': 'text/html' });
      res.end(page);
    });
    const url = listener.url.replace('/webhooks/clik2pay', '/webhook');
    const run = await c2p(['send', 'payment-completed', '--url', url, ...auth, ...fast]);
    expect(run.code).toBe(1);
    expect(listener.requests).toHaveLength(3); // Clik2pay retries a 404 too
    expect(run.stdout).not.toContain('<');
    const attempts = run.stdout.split('\n').filter((line) => line.startsWith('attempt'));
    expect(attempts).toEqual([
      expect.stringMatching(
        /^attempt 1\/3 {2}404 not delivered {2}\d+ ms {2}\(an HTML page, \d+ bytes\)$/,
      ),
      expect.stringMatching(/^attempt 2\/3 {2}404 not delivered {2}\d+ ms {2}\(same body\)$/),
      expect.stringMatching(/^attempt 3\/3 {2}404 not delivered {2}\d+ ms {2}\(same body\)$/),
    ]);
    expect(run.stderr).toBe('c2p: hint: 404 from /webhook: is the path /webhooks/clik2pay?\n');
  });

  it("shows c2p's error code and message, and asks about the credentials", async () => {
    const url = await startC2pListener('sync');
    const run = await c2p([
      'send',
      'payment-completed',
      '--url',
      url,
      '--username',
      'clik2pay',
      '--password',
      'wrong',
      ...fast,
    ]);
    expect(run.code).toBe(1);
    expect(run.stdout).toMatch(/attempt 1\/3 {2}401 not delivered {2}\d+ ms {2}UNAUTHORIZED: /);
    expect(run.stderr).toBe(
      "c2p: hint: 401: do --username/--password (C2P_WEBHOOK_USERNAME, C2P_WEBHOOK_PASSWORD) match the listener's?\n",
    );
  });

  it('asks whether the listener is running when the connection is refused', async () => {
    const port = await freePort();
    const run = await c2p([
      'send',
      'payment-completed',
      '--url',
      `http://127.0.0.1:${port}/webhooks/clik2pay`,
      ...auth,
      ...fast,
    ]);
    expect(run.code).toBe(1);
    expect(run.stdout).toMatch(/attempt 1\/3 {2}network-error: ECONNREFUSED/);
    expect(run.stderr).toBe(
      `c2p: hint: nothing listens on 127.0.0.1:${port}: is the listener running on 127.0.0.1:${port}?\n`,
    );
  });

  it('says the port speaks HTTP when https:// reaches a plain HTTP listener', async () => {
    const listener = await listen((_req, _n, res) => reply(res, 200));
    const https = listener.url.replace('http:', 'https:');
    const run = await c2p(['send', 'payment-completed', '--url', https, ...auth, ...fast]);
    expect(run.code).toBe(1);
    expect(listener.requests).toHaveLength(0);
    expect(run.stdout).toMatch(
      /network-error: ERR_SSL_WRONG_VERSION_NUMBER: wrong version number {2}/,
    );
    expect(run.stderr).toBe(
      `c2p: hint: this port speaks HTTP, not HTTPS: did you mean ${listener.url}?\n`,
    );
  });

  it('suggests http:// for a URL without its scheme, and sends nothing', async () => {
    const run = await c2p([
      'send',
      'payment-completed',
      '--url',
      'localhost:3001/webhooks/clik2pay',
    ]);
    expect(run).toMatchObject({ code: 2, stdout: '' });
    expect(run.stderr).toBe(
      'c2p: --url: "localhost:3001/webhooks/clik2pay" has no scheme: did you mean http://localhost:3001/webhooks/clik2pay?\n',
    );
    const bare = await c2p(['send', 'payment-completed', '--url', '127.0.0.1:3001']);
    expect(bare.stderr).toMatch(/did you mean http:\/\/127\.0\.0\.1:3001\?/);
  });
});

describe("c2p send: a c2p listener's answer", () => {
  for (const [mode, counted] of [
    ['inbox', 'accepted'],
    ['sync', 'processed'],
  ] as const) {
    it(`reads as one line in ${mode} mode, and as raw JSON with --json`, async () => {
      const url = await startC2pListener(mode);
      const args = [
        'send',
        'payment-completed',
        '--id',
        `order-${mode}`,
        '--url',
        url,
        ...auth,
        ...fast,
      ];
      const first = await c2p([...args, '--times', '2']);
      expect(first.code).toBe(0);
      expect(first.stdout.split('\n').filter((line) => line.startsWith('#'))).toEqual([
        expect.stringMatching(
          new RegExp(`^#1 attempt 1/3 {2}200 delivered {2}\\d+ ms {2}${counted} 1, duplicates 0$`),
        ),
        expect.stringMatching(
          new RegExp(`^#2 attempt 1/3 {2}200 delivered {2}\\d+ ms {2}${counted} 0, duplicates 1$`),
        ),
      ]);
      const json = JSON.parse((await c2p([...args, '--json'])).stdout);
      expect(JSON.parse(json.deliveries[0].attempts[0].responseBody)).toEqual({
        received: 1,
        [counted]: 0,
        duplicates: 1,
      });
    });
  }
});

describe('c2p send: the fields an order shows', () => {
  it('sets merchantTransactionId, a refund paymentRequestId and other fields, strings or JSON', async () => {
    const listener = await listen((_req, _n, res) => reply(res, 200));
    const run = await c2p([
      'send',
      'payment-completed',
      '--kind',
      'payment',
      '--merchant-transaction-id',
      'ORDER-1001',
      '--payment-request-id',
      'pr-42',
      '--resource',
      'invoiceNumber=0012',
      '--resource',
      'displayMessage:={"en":"Thanks"}',
      '--url',
      listener.url,
      ...auth,
      ...fast,
      '--json',
    ]);
    expect(run.code).toBe(0);
    expect(JSON.parse(listener.requests[0]?.body ?? '')).toMatchObject([
      {
        resourceType: 'payment',
        resource: {
          status: 'ACCEPTED',
          merchantTransactionId: 'ORDER-1001',
          paymentRequestId: 'pr-42',
          invoiceNumber: '0012',
          displayMessage: { en: 'Thanks' },
        },
      },
    ]);
    expect(JSON.parse(run.stdout).events).toEqual([
      expect.objectContaining({ merchantTransactionId: 'ORDER-1001', paymentRequestId: 'pr-42' }),
    ]);
  });

  const bad: [string[], RegExp][] = [
    [
      ['--payment-request-id', 'pr-1'],
      /--payment-request-id names the payment request a refund is for: add --kind payment/,
    ],
    [['--resource', 'invoiceNumber'], /--resource: "invoiceNumber" is not key=value or key:=json/],
    [
      ['--resource', 'amount:=twelve'],
      /--resource: "amount:=twelve": the value after := is not JSON/,
    ],
  ];
  for (const [flags, message] of bad) {
    it(`refuses ${flags.join(' ')} with one line, exit 2`, async () => {
      const run = await c2p(['send', 'payment-completed', '--url', 'http://127.0.0.1:1', ...flags]);
      expect(run).toMatchObject({ code: 2, stdout: '' });
      expect(run.stderr.trimEnd().split('\n')).toHaveLength(1);
      expect(run.stderr).toMatch(message);
    });
  }
});
