import { inspect } from 'node:util';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { Clik2payClient, Clik2payClientOptions } from '../../src/index.js';
import { C2pApiError, createClik2payClient } from '../../src/index.js';

/** A Clik2pay stand-in the client is held to: `c2p mock`, or the test's own fake. */
export interface ConformanceTarget {
  baseUrl: string;
  tokenUrl: string;
  username: string;
  password: string;
  apiKey: string;
  tokenCalls(): Promise<number>;
  apiCalls(): Promise<number>;
  /** The next `times` calls to `target` (default the API) answer `status`. */
  failNext(fault: {
    status: number;
    times: number;
    retryAfterS?: number;
    target?: 'api' | 'token';
  }): Promise<void>;
  /** Tokens issued so far are refused from now on. */
  expireTokens(): Promise<void>;
  /** The payment request becomes PAID, as a payer would make it. */
  pay(id: string): Promise<void>;
  close(): Promise<void>;
}

const order = (n: number) => ({
  amount: 25.5,
  merchantTransactionId: `order-${Date.now()}-${n}`.slice(0, 32),
  type: 'ECOMM' as const,
  deliveryMode: 'NONE' as const,
  payer: { name: 'Ada Lovelace' },
});

/** Everything the client must see as text in an error: it must never contain a secret. */
export function errorText(error: unknown): string {
  return `${inspect(error, { depth: 10, showHidden: true })}\n${JSON.stringify(error)}`;
}

/**
 * The client's conformance suite: run against `c2p mock` and against an
 * independent fake, so the client is not tuned to one stand-in.
 */
export function describeClientConformance(
  name: string,
  start: () => Promise<ConformanceTarget>,
): void {
  describe(`@c2p/api against ${name}`, () => {
    let target: ConformanceTarget;
    let n = 0;
    const client = (options: Partial<Clik2payClientOptions> = {}): Clik2payClient =>
      createClik2payClient({
        username: target.username,
        password: target.password,
        apiKey: target.apiKey,
        baseUrl: target.baseUrl,
        tokenUrl: target.tokenUrl,
        retry: { baseDelayMs: 5, maxDelayMs: 20 },
        ...options,
      });
    beforeEach(async () => {
      target = await start();
    });
    afterEach(async () => {
      await target.close();
    });

    it('creates a payment request and reads it back, PAID once paid, with one token call', async () => {
      const api = client();
      const input = order(n++);
      const created = await api.createPaymentRequest(input);
      expect(created.id).toEqual(expect.any(String));
      const before = await api.getPaymentRequest(created.id);
      expect(before).toMatchObject({
        id: created.id,
        amount: 25.5,
        merchantTransactionId: input.merchantTransactionId,
      });
      expect(before.status).not.toBe('PAID');
      await target.pay(created.id);
      const after = await api.getPaymentRequest(created.id);
      expect(after).toMatchObject({ id: created.id, status: 'PAID', amount: 25.5 });
      expect(await target.tokenCalls()).toBe(1);
      expect(await target.apiCalls()).toBe(3);
    });

    it('refuses bad input before sending anything', async () => {
      const api = client();
      for (const bad of [
        { ...order(n++), amount: 0 },
        { ...order(n++), amount: 10_000.01 },
        { ...order(n++), amount: 1.001 },
        { ...order(n++), merchantTransactionId: '12345' },
        { ...order(n++), merchantTransactionId: 'x'.repeat(33) },
        { ...order(n++), type: 'SMART' },
        { ...order(n++), deliveryMode: 'FAX' },
      ]) {
        // biome-ignore lint/suspicious/noExplicitAny: deliberately off the type
        await expect(api.createPaymentRequest(bad as any)).rejects.toMatchObject({
          code: 'INVALID_INPUT',
        });
      }
      expect(await target.tokenCalls()).toBe(0);
      expect(await target.apiCalls()).toBe(0);
    });

    it('answers NOT_FOUND for an unknown id', async () => {
      await expect(client().getPaymentRequest('no-such-id')).rejects.toMatchObject({
        code: 'NOT_FOUND',
        status: 404,
      });
    });

    it('a wrong password is AUTH_FAILED, a wrong key FORBIDDEN, neither error holding a secret', async () => {
      const wrongPassword = await client({ password: 'wrong-password-7731' })
        .getPaymentRequest('x')
        .catch((e: unknown) => e);
      expect(wrongPassword).toBeInstanceOf(C2pApiError);
      expect(wrongPassword).toMatchObject({ code: 'AUTH_FAILED' });
      const wrongKey = await client({ apiKey: 'wrong-key-7731' })
        .getPaymentRequest('x')
        .catch((e: unknown) => e);
      expect(wrongKey).toMatchObject({ code: 'FORBIDDEN', status: 403 });
      for (const error of [wrongPassword, wrongKey]) {
        const text = errorText(error);
        for (const secret of [
          'wrong-password-7731',
          'wrong-key-7731',
          target.password,
          target.apiKey,
        ]) {
          expect(text).not.toContain(secret);
        }
      }
    });

    it('50 concurrent reads share one token call; after the tokens expire, one renewal for 50', async () => {
      const api = client();
      const { id } = await api.createPaymentRequest(order(n++));
      const reads = await Promise.all(Array.from({ length: 50 }, () => api.getPaymentRequest(id)));
      expect(reads.every((r) => r.id === id)).toBe(true);
      expect(await target.tokenCalls()).toBe(1);
      await target.expireTokens();
      const again = await Promise.all(Array.from({ length: 50 }, () => api.getPaymentRequest(id)));
      expect(again.every((r) => r.id === id)).toBe(true);
      expect(await target.tokenCalls()).toBe(2);
    });

    it('retries 429 and 5xx answers, to the token endpoint too, and loses no read', async () => {
      const api = client();
      await target.failNext({ status: 503, times: 1, target: 'token' });
      const { id } = await api.createPaymentRequest(order(n++));
      await target.failNext({ status: 429, times: 1, retryAfterS: 0 });
      await target.failNext({ status: 502, times: 1 });
      expect((await api.getPaymentRequest(id)).id).toBe(id);
      expect(await target.tokenCalls()).toBe(2);
      expect(await target.apiCalls()).toBe(4);
    });

    it('gives up after its attempts with SERVER_ERROR or RATE_LIMITED', async () => {
      const api = client({ retry: { attempts: 3, baseDelayMs: 1 } });
      const { id } = await api.createPaymentRequest(order(n++));
      await target.failNext({ status: 500, times: 3 });
      await expect(api.getPaymentRequest(id)).rejects.toMatchObject({
        code: 'SERVER_ERROR',
        status: 500,
      });
      await target.failNext({ status: 429, times: 3, retryAfterS: 0 });
      await expect(api.getPaymentRequest(id)).rejects.toMatchObject({
        code: 'RATE_LIMITED',
        status: 429,
        retryAfterMs: 0,
      });
      expect(await target.apiCalls()).toBe(7);
    });
  });
}
