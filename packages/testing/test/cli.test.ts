import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { bodySchema } from '@c2p/core/kit';
import { afterAll, describe, expect, it } from 'vitest';
import {
  createSelfSignedCertificate,
  decodeBasic,
  listenClosingAfterEach,
  reply,
} from './support/listener.js';
import { c2p } from './support/run-cli.js';

// The CLI in-process, through run(): no build needed. cli-bin.test.ts spawns the built bin.
// What a newcomer's first mistakes get (typos, hints, one answer line) is in cli-first-hour.test.ts.

const listen = listenClosingAfterEach();

const fast = ['--backoff', '1', '--timeout', '2000'];
const dir = mkdtempSync(join(tmpdir(), 'c2p-cli-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('c2p send', () => {
  it('delivers a built event and stops at the first 2xx', async () => {
    const statuses = [500, 200];
    const listener = await listen((_req, n, res) => reply(res, statuses[n] ?? 200));
    const run = await c2p([
      'send',
      'payment-completed',
      '--url',
      listener.url,
      '--username',
      'u',
      '--password',
      'p',
      ...fast,
    ]);
    expect(run.code).toBe(0);
    expect(listener.requests).toHaveLength(2);
    const body = JSON.parse(listener.requests[0]?.body ?? '');
    expect(bodySchema.safeParse(body).success).toBe(true);
    expect(body).toMatchObject([{ eventType: 'PAYMENT-COMPLETED', resource: { status: 'PAID' } }]);
    const lines = run.stdout.trim().split('\n');
    expect(lines).toHaveLength(4); // heading, two attempts, summary
    expect(lines[1]).toMatch(/^attempt 1\/3 {2}500 not delivered/);
    expect(lines[2]).toMatch(/^attempt 2\/3 {2}200 delivered/);
    expect(lines[3]).toBe('ok: 1/1 delivered, 0 failed (2 attempts in all)');
  });

  it("shows how many events a 2xx processed and how many were duplicates, from c2p's answer", async () => {
    const answers = [
      { received: 1, processed: 1, duplicates: 0 },
      { received: 1, processed: 0, duplicates: 1 },
    ];
    const listener = await listen((_req, n, res) => {
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end(JSON.stringify(answers[n]));
    });
    const run = await c2p([
      'send',
      'payment-completed',
      '--url',
      listener.url,
      '--times',
      '2',
      '--username',
      'u',
      '--password',
      'p',
      ...fast,
    ]);
    expect(run.code).toBe(0);
    const attempts = run.stdout.split('\n').filter((line) => /attempt \d/.test(line));
    expect(attempts).toEqual([
      expect.stringMatching(
        /^#1 attempt 1\/3 {2}200 delivered {2}\d+ ms {2}processed 1, duplicates 0$/,
      ),
      expect.stringMatching(
        /^#2 attempt 1\/3 {2}200 delivered {2}\d+ ms {2}processed 0, duplicates 1$/,
      ),
    ]);
  });

  it("prints another receiver's 2xx body on one bounded line, and nothing for an empty one", async () => {
    const bodies = ['{\n  "ok": true\n}', JSON.stringify({ note: 'x'.repeat(500) }), ''];
    const listener = await listen((_req, n, res) => {
      res.writeHead(bodies[n] === '' ? 204 : 202, { 'content-type': 'application/json' });
      res.end(bodies[n]);
    });
    const run = await c2p([
      'send',
      'payment-completed',
      '--url',
      listener.url,
      '--times',
      '3',
      '--username',
      'u',
      '--password',
      'p',
      ...fast,
    ]);
    expect(run.code).toBe(0);
    const attempts = run.stdout.split('\n').filter((line) => /attempt \d/.test(line));
    expect(attempts[0]).toMatch(/^#1 attempt 1\/3 {2}202 delivered {2}\d+ ms {2}\{ "ok": true \}$/);
    expect(attempts[1]).toMatch(
      /^#2 attempt 1\/3 {2}202 delivered {2}\d+ ms {2}\{"note":"x+\.\.\.$/,
    );
    expect(attempts[1]?.split('  ').at(-1)).toHaveLength(160);
    expect(attempts[2]).toMatch(/^#3 attempt 1\/3 {2}204 delivered {2}\d+ ms$/);
  });

  it('gives up after exactly three attempts and exits 1', async () => {
    const listener = await listen((_req, _n, res) => reply(res, 503));
    const run = await c2p(['send', 'PAYMENT-FAILED', '--url', listener.url, ...fast]);
    expect(run.code).toBe(1);
    expect(listener.requests).toHaveLength(3);
    expect(run.stdout).toMatch(/FAILED: 0\/1 delivered, 1 failed \(3 attempts in all\)/);
  });

  it('prints machine-readable results with --json', async () => {
    const listener = await listen((_req, n, res) => reply(res, n === 0 ? 409 : 200));
    const run = await c2p([
      'send',
      'payment-completed',
      '--kind',
      'payment',
      '--id',
      'refund-1',
      '--amount',
      '12.5',
      '--url',
      listener.url,
      '--json',
      ...fast,
    ]);
    expect(run.code).toBe(0);
    const result = JSON.parse(run.stdout);
    expect(result).toMatchObject({
      ok: true,
      delivered: 1,
      failed: 0,
      url: listener.url,
      events: [
        { eventType: 'PAYMENT-COMPLETED', id: 'refund-1', status: 'ACCEPTED', amount: 12.5 },
      ],
      deliveries: [
        {
          delivered: true,
          attempts: [
            { attempt: 1, outcome: 'http-error', status: 409, responseBody: '{"status":409}' },
            {
              attempt: 2,
              outcome: 'delivered',
              status: 200,
              error: null,
              responseBody: '{"status":200}',
            },
          ],
        },
      ],
    });
    expect(JSON.parse(listener.requests[0]?.body ?? '')).toMatchObject([
      { resourceType: 'payment', resource: { id: 'refund-1', recipient: {} } },
    ]);
  });

  it('takes the URL and credentials from the environment, colons and non-ASCII included', async () => {
    const listener = await listen((_req, _n, res) => reply(res, 204));
    const username = 'clik2pay-café';
    const password = 'pa:ss:wörd 🔑';
    const run = await c2p(['send', 'payment-link-followed', ...fast], {
      env: {
        C2P_URL: listener.url,
        C2P_WEBHOOK_USERNAME: username,
        C2P_WEBHOOK_PASSWORD: password,
      },
    });
    expect(run.code).toBe(0);
    expect(decodeBasic(listener.requests[0]?.headers.authorization)).toEqual({
      username,
      password,
    });
    expect(run.stdout).not.toContain(password);
    expect(run.stderr).toBe('');
  });

  it('warns once on stderr when no credentials are given, and still sends without them', async () => {
    const listener = await listen((_req, _n, res) => reply(res, 401));
    const run = await c2p(['send', 'payment-completed', '--url', listener.url, ...fast]);
    expect(run.code).toBe(1);
    expect(listener.requests).toHaveLength(3);
    expect(listener.requests.map((r) => r.headers.authorization)).toEqual([
      undefined,
      undefined,
      undefined,
    ]);
    expect(run.stderr).toBe(
      'c2p: warning: no credentials given (--username/--password or C2P_WEBHOOK_USERNAME/C2P_WEBHOOK_PASSWORD); sending without Authorization\n',
    );
  });

  it('does not warn about credentials given as flags', async () => {
    const listener = await listen((_req, _n, res) => reply(res, 200));
    const run = await c2p(
      ['replay', '-', '--url', listener.url, '--username', 'u', '--password', 'p', ...fast],
      { input: '[]' },
    );
    expect(run.code).toBe(0);
    expect(decodeBasic(listener.requests[0]?.headers.authorization)).toEqual({
      username: 'u',
      password: 'p',
    });
    expect(run.stderr).toBe('');
  });

  it('sends duplicates concurrently, as objects, from a chosen X-Forwarded-For', async () => {
    const listener = await listen((_req, _n, res) => reply(res, 200));
    const run = await c2p([
      'send',
      'payment-processing',
      '--url',
      listener.url,
      '--times',
      '3',
      '--concurrency',
      '3',
      '--shape',
      'object',
      '--forwarded-for',
      '3.99.39.224',
      ...fast,
    ]);
    expect(run.code).toBe(0);
    expect(listener.requests).toHaveLength(3);
    expect(new Set(listener.requests.map((r) => r.body)).size).toBe(1);
    expect(JSON.parse(listener.requests[0]?.body ?? '')).toMatchObject({
      eventType: 'PAYMENT-PROCESSING',
      resource: { status: 'ACTIVE' },
    });
    expect(listener.requests[0]?.headers['x-forwarded-for']).toBe('3.99.39.224');
  });
});

describe('c2p send, unknown types and many events', () => {
  it('sends an undocumented event type as typed with --allow-unknown, with a note on stderr', async () => {
    const listener = await listen((_req, _n, res) => reply(res, 200));
    const run = await c2p([
      'send',
      'Payment-Refunded',
      '--allow-unknown',
      '--url',
      listener.url,
      '--username',
      'u',
      '--password',
      'p',
      ...fast,
    ]);
    expect(run.code).toBe(0);
    expect(JSON.parse(listener.requests[0]?.body ?? '')).toMatchObject([
      { eventType: 'Payment-Refunded' },
    ]);
    expect(run.stderr).toBe(
      'c2p: note: "Payment-Refunded" is not a documented event type; sending it as typed (--allow-unknown)\n',
    );
  });

  it('builds --events events into one body, or one body each with --shape object', async () => {
    const listener = await listen((_req, _n, res) => reply(res, 200));
    const auth = ['--username', 'u', '--password', 'p', ...fast];
    const one = await c2p([
      'send',
      'payment-failed',
      '--events',
      '3',
      '--url',
      listener.url,
      ...auth,
    ]);
    expect(one.code).toBe(0);
    expect(one.stdout.split('\n')[0]).toMatch(
      / PAYMENT-FAILED FAILED payment-request \(3 events, one body\)$/,
    );
    const each = await c2p([
      'send',
      'payment-failed',
      '--events',
      '2',
      '--shape',
      'object',
      '--url',
      listener.url,
      ...auth,
    ]);
    expect(each.code).toBe(0);
    const bodies = listener.requests.map((r) => JSON.parse(r.body));
    expect(bodies.map((b) => (Array.isArray(b) ? b.length : 'object'))).toEqual([
      3,
      'object',
      'object',
    ]);
    expect(new Set(bodies.slice(1).map((b) => b.resource.id)).size).toBe(2);
  });
});

describe('c2p replay', () => {
  it('delivers a file byte for byte', async () => {
    const listener = await listen((_req, _n, res) => reply(res, 200));
    const raw = '{"eventType":"PAYMENT-COMPLETED","resource":{"id":"r-1"}}\n';
    const file = join(dir, 'body.json');
    writeFileSync(file, raw);
    const run = await c2p(['replay', file, '--url', listener.url, ...fast]);
    expect(run.code).toBe(0);
    expect(listener.requests[0]?.body).toBe(raw);
  });

  it('reads stdin for -, even when it is not JSON', async () => {
    const listener = await listen((_req, _n, res) => reply(res, 400));
    const run = await c2p(['replay', '-', '--url', listener.url, '--json', ...fast], {
      input: 'not json',
    });
    expect(run.code).toBe(1);
    expect(listener.requests.map((r) => r.body)).toEqual(['not json', 'not json', 'not json']);
    expect(JSON.parse(run.stdout)).toMatchObject({ ok: false, failed: 1, file: 'stdin' });
  });
});

describe('c2p example', () => {
  it('prints the documented example', async () => {
    const run = await c2p(['example']);
    expect(run.code).toBe(0);
    expect(JSON.parse(run.stdout)).toEqual([
      expect.objectContaining({
        resource: expect.objectContaining({ id: '8ecd810d-c0e2-40a6-8ab9-da12d72a3d6a' }),
      }),
    ]);
  });

  it('prints a valid body for an event type and kind', async () => {
    const run = await c2p(['example', 'payment-failed', '--kind', 'payment', '--shape', 'object']);
    expect(run.code).toBe(0);
    const body = JSON.parse(run.stdout);
    expect(body).toMatchObject({
      eventType: 'PAYMENT-FAILED',
      resourceType: 'payment',
      resource: { status: 'FAILED' },
    });
    expect(bodySchema.safeParse(body).success).toBe(true);
  });
});

describe('c2p usage', () => {
  for (const args of [[], ['send'], ['replay'], ['example']]) {
    it(`answers --help for "${['c2p', ...args].join(' ')}"`, async () => {
      const run = await c2p([...args, '--help']);
      expect(run.code).toBe(0);
      expect(run.stdout).toMatch(/Usage/);
      expect(run.stderr).toBe('');
    });
  }

  const bad: [string[], RegExp][] = [
    [['send', 'payment-completed', '--bogus'], /^c2p: Unknown option '--bogus'/],
    [['send', 'payment-completed', '--url'], /^c2p: Option '--url <value>' argument missing/],
    [
      ['send', 'payment-completed', '--url', 'http://127.0.0.1:1', '--times', 'many'],
      /--times: "many"/,
    ],
    [['send', 'payment-completed'], /^c2p: missing --url \(or C2P_URL\)\n$/],
    [['send', '--url', 'http://127.0.0.1:1'], /missing <event-type>/],
    [
      [
        'send',
        'payment-failed',
        '--url',
        'http://127.0.0.1:1',
        '--username',
        'a:b',
        '--password',
        'c',
      ],
      /--username/,
    ],
    [
      ['send', 'payment-failed', '--url', 'http://127.0.0.1:1', '--username', 'a'],
      /missing --password/,
    ],
    [['replay', join(dir, 'nope.json'), '--url', 'http://127.0.0.1:1'], /cannot read .*ENOENT/],
    [['example', '--kind', 'refund'], /--kind: "refund" is not one of payment-request, payment/],
    [['launch'], /unknown command 'launch'/],
    [['constructor'], /unknown command 'constructor'/],
    // Refused by deliverMany itself (an OptionError), named by the flag, before anything is printed.
    [
      ['send', 'payment-failed', '--url', 'ftp://127.0.0.1:1'],
      /^c2p: --url: "ftp:" is not http: or https:\n$/,
    ],
    [['send', 'payment-failed', '--url', 'not a url'], /^c2p: --url: "not a url" is not a URL\n$/],
    [
      [
        'send',
        'payment-failed',
        '--url',
        'http://127.0.0.1:1',
        '--username',
        'a:b',
        '--password',
        'c',
      ],
      /^c2p: --username: a Basic user-id cannot contain ":" \(RFC 7617\)/,
    ],
  ];
  for (const [args, message] of bad) {
    it(`exits 2 with one line for "c2p ${args.join(' ')}"`, async () => {
      const run = await c2p(args);
      expect(run.code).toBe(2);
      expect(run.stdout).toBe('');
      expect(run.stderr.trimEnd().split('\n')).toHaveLength(1);
      expect(run.stderr).toMatch(message);
    });
  }
});

describe('c2p over HTTPS', () => {
  const tls = createSelfSignedCertificate();
  const caFile = join(dir, 'ca.pem');
  writeFileSync(caFile, tls.cert);

  it('fails against a self-signed certificate by default', async () => {
    const listener = await listen((_req, _n, res) => reply(res, 200), { tls });
    const run = await c2p(['send', 'payment-completed', '--url', listener.url, ...fast]);
    expect(run.code).toBe(1);
    expect(run.stdout).toMatch(/self[- ]signed/i);
    expect(listener.requests).toHaveLength(0);
  });

  it('delivers with --ca', async () => {
    const listener = await listen((_req, _n, res) => reply(res, 200), { tls });
    const run = await c2p([
      'send',
      'payment-completed',
      '--url',
      listener.url,
      '--ca',
      caFile,
      ...fast,
    ]);
    expect(run.code).toBe(0);
    expect(listener.requests).toHaveLength(1);
  });

  it('delivers with --insecure, and warns', async () => {
    const listener = await listen((_req, _n, res) => reply(res, 200), { tls });
    const run = await c2p([
      'send',
      'payment-completed',
      '--url',
      listener.url,
      '--insecure',
      ...fast,
    ]);
    expect(run.code).toBe(0);
    expect(run.stderr).toMatch(/not verified/);
  });
});
