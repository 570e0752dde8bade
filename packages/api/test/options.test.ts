import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import type { Clik2payClientOptions } from '../src/index.js';
import { clik2payEnvironments, createClik2payClient, isC2pApiError } from '../src/index.js';
import type { FakeClik2pay } from './support/fake-clik2pay.js';
import { startFakeClik2pay } from './support/fake-clik2pay.js';

const valid: Clik2payClientOptions = { username: 'u', password: 'p', apiKey: 'k' };

let fake: FakeClik2pay | undefined;
afterEach(async () => {
  await fake?.close();
  fake = undefined;
});

describe('options', () => {
  it('a bad option throws INVALID_OPTIONS naming its path, without echoing a secret', () => {
    const cases: [Partial<Record<keyof Clik2payClientOptions, unknown>>, string][] = [
      [{ apiKey: '' }, '[@c2p/api] options.apiKey: is missing or empty'],
      [{ password: undefined }, '[@c2p/api] options.password: is missing or empty'],
      [
        { environment: 'staging' },
        '[@c2p/api] options.environment: "staging" is not production or sandbox',
      ],
      [{ baseUrl: 'ftp://x' }, '[@c2p/api] options.baseUrl: "ftp:" is not http: or https:'],
      [
        { tokenUrl: 'https://user:secret@x/t' },
        '[@c2p/api] options.tokenUrl: must not hold credentials',
      ],
      [
        { paymentRequestPath: '/payment-requests' },
        '[@c2p/api] options.paymentRequestPath: must start with / and contain {id}',
      ],
      [{ timeoutMs: 0 }, '[@c2p/api] options.timeoutMs: 0 is not a number of ms > 0'],
      [
        { retry: { attempts: 0 } },
        '[@c2p/api] options.retry.attempts: 0 is not a whole number >= 1',
      ],
    ];
    for (const [override, message] of cases) {
      let thrown: unknown;
      try {
        createClik2payClient({ ...valid, ...override } as Clik2payClientOptions);
      } catch (error) {
        thrown = error;
      }
      expect(isC2pApiError(thrown, 'INVALID_OPTIONS')).toBe(true);
      expect((thrown as Error).message).toBe(message);
    }
  });

  it('names the documented production and sandbox URLs', () => {
    expect(clik2payEnvironments).toEqual({
      production: {
        baseUrl: 'https://api.clik2pay.com/open/v1',
        tokenUrl: 'https://api-auth.clik2pay.com/oauth2/token',
      },
      sandbox: {
        baseUrl: 'https://api.sandbox.clik2pay.com/open/v1',
        tokenUrl: 'https://api-auth.sandbox.clik2pay.com/oauth2/token',
      },
    });
  });

  it('picks the environment URLs, and sends reads to paymentRequestPath with the id encoded', async () => {
    const urls: string[] = [];
    const recording: typeof fetch = async (input) => {
      urls.push(String(input));
      const token = String(input).endsWith('/token');
      return new Response(
        JSON.stringify(
          token
            ? { access_token: 't', expires_in: 3600 }
            : { id: 'a/b', status: 'PAID', amount: 1 },
        ),
        { status: 200, headers: { 'content-type': 'application/json' } },
      );
    };
    await createClik2payClient({
      ...valid,
      environment: 'sandbox',
      fetch: recording,
    }).getPaymentRequest('a/b');
    await createClik2payClient({
      ...valid,
      fetch: recording,
      paymentRequestPath: '/requests/{id}/details',
    }).getPaymentRequest('x');
    expect(urls).toEqual([
      'https://api-auth.sandbox.clik2pay.com/oauth2/token',
      'https://api.sandbox.clik2pay.com/open/v1/payment-requests/a%2Fb',
      'https://api-auth.clik2pay.com/oauth2/token',
      'https://api.clik2pay.com/open/v1/requests/x/details',
    ]);
  });

  it('sends a create as JSON with the input as given, extra fields included', async () => {
    fake = await startFakeClik2pay();
    const client = createClik2payClient({
      username: fake.username,
      password: fake.password,
      apiKey: fake.apiKey,
      baseUrl: `${fake.baseUrl}/`,
      tokenUrl: fake.tokenUrl,
    });
    const input = {
      amount: 19.99,
      merchantTransactionId: 'inv-000123',
      type: 'EBILL' as const,
      deliveryMode: 'EMAIL' as const,
      payer: { name: 'Ada', email: 'ada@example.com' },
      dueDate: '2026-12-31',
      invoiceNumber: 'INV-123',
    };
    const created = await client.createPaymentRequest(input);
    const post = fake.requests.find((r) => r.path === '/api/payment-requests');
    expect(post?.headers['content-type']).toBe('application/json');
    expect(JSON.parse(post?.body ?? '')).toEqual(input);
    expect(await client.getPaymentRequest(created.id)).toMatchObject({
      ...input,
      unknownField: { nested: true },
    });
  });
});

describe('the built package', () => {
  it('imports no node: module and no Node global (fetch only, for Bun, Deno and Workers)', () => {
    const dist = join(import.meta.dirname, '..', 'dist');
    const files = readdirSync(dist).filter((f) => /\.(c?js)$/.test(f));
    expect(files.length).toBeGreaterThanOrEqual(2);
    for (const file of files) {
      const code = readFileSync(join(dist, file), 'utf8');
      expect(code, file).not.toMatch(/["']node:|\bBuffer\b|\bprocess\./);
    }
  });
});
