import {
  createMemoryInbox,
  createWebhooks,
  defaultIdempotencyKey,
  type MemoryInbox,
  type WebhookIntake,
} from '@c2p/core';
import { toEvent, type WireEvent } from '@c2p/core/kit';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { Clik2payClient, ReconcileReport, ReconcilerOptions } from '../../src/index.js';
import {
  confirmPaid,
  createClik2payClient,
  createPipelineSubmit,
  createReconciler,
} from '../../src/index.js';

/** A Clik2pay stand-in the reconciler is held to: `c2p mock`, or the test's own fake. */
export interface ReconcileTarget {
  baseUrl: string;
  tokenUrl: string;
  username: string;
  password: string;
  apiKey: string;
  /** The payment request becomes PAID and no webhook is delivered; answers the one that was due. */
  pay(id: string): Promise<WireEvent>;
  /** The payment request becomes FAILED, without a webhook. */
  fail(id: string): Promise<void>;
  /** The next `times` API calls answer `status`. */
  failNext(fault: { status: number; times: number }): Promise<void>;
  apiCalls(): Promise<number>;
  close(): Promise<void>;
}

const credentials = { username: 'clik2pay', password: 'webhook-password-1234' };
const auth = `Basic ${Buffer.from(`${credentials.username}:${credentials.password}`).toString('base64')}`;

/** Delivers one wire event to the pipeline as Clik2pay would: answers its 200 summary. */
async function deliverWebhook(pipeline: WebhookIntake, event: WireEvent): Promise<unknown> {
  const response = await pipeline.handle({
    method: 'POST',
    header: (name) => ({ authorization: auth, 'content-type': 'application/json' })[name],
    body: JSON.stringify([event]),
    peerAddress: '127.0.0.1',
  });
  expect(response.status).toBe(200);
  return JSON.parse(response.body);
}

/**
 * The reconciler's conformance suite, against a real core pipeline in inbox
 * mode: run against `c2p mock` and an independent fake.
 */
export function describeReconcilerConformance(
  name: string,
  start: () => Promise<ReconcileTarget>,
): void {
  describe(`the reconciler against ${name}`, () => {
    let target: ReconcileTarget;
    let client: Clik2payClient;
    let inbox: MemoryInbox;
    let pipeline: WebhookIntake;
    let n = 0;
    const create = async (amount = 25.5): Promise<string> => {
      n += 1;
      const merchantTransactionId = `rc-${Date.now()}-${n}`;
      const input = { amount, merchantTransactionId, type: 'ECOMM', deliveryMode: 'NONE' } as const;
      return (await client.createPaymentRequest({ ...input, payer: { name: 'Ada' } })).id;
    };
    const reconciler = (
      options: Partial<ReconcilerOptions> & Pick<ReconcilerOptions, 'expected'>,
    ) =>
      createReconciler({
        client,
        submit: createPipelineSubmit({ pipeline, credentials }),
        afterMs: 0,
        readsPerSecond: 1000,
        ...options,
      });
    const keys = async (): Promise<string[]> =>
      (await inbox.list({ state: 'pending', limit: 500 })).map((entry) => entry.key);

    beforeEach(async () => {
      target = await start();
      client = createClik2payClient({
        username: target.username,
        password: target.password,
        apiKey: target.apiKey,
        baseUrl: target.baseUrl,
        tokenUrl: target.tokenUrl,
        retry: { attempts: 2, baseDelayMs: 5, maxDelayMs: 20 },
      });
      inbox = createMemoryInbox();
      pipeline = createWebhooks({ credentials, allowedIps: ['loopback'], inbox });
    });
    afterEach(() => target.close());

    it('submits a missed PAID with the key its webhook gets; the late webhook is a duplicate', async () => {
      const paid = await create();
      const waiting = await create();
      const missed = await target.pay(paid);
      const reports: ReconcileReport[] = [];
      const counts = await reconciler({
        expected: async () => [paid, waiting],
        onOutcome: (report) => reports.push(report),
      }).runOnce();
      expect(counts).toEqual({ unchanged: 1, enqueued: 1, duplicate: 0, 'not-found': 0, error: 0 });
      expect(reports).toContainEqual({
        id: paid,
        outcome: 'enqueued',
        status: 'PAID',
        eventType: 'PAYMENT-COMPLETED',
      });
      expect(reports).toContainEqual(
        expect.objectContaining({ id: waiting, outcome: 'unchanged' }),
      );
      const webhookKey = defaultIdempotencyKey(toEvent(missed));
      expect(webhookKey).toBe(`payment-request:${paid}:PAYMENT-COMPLETED:PAID`);
      expect(await keys()).toEqual([webhookKey]);
      // The webhook that comes late (Clik2pay's retry, a redelivery) changes nothing.
      expect(await deliverWebhook(pipeline, missed)).toEqual({
        received: 1,
        accepted: 0,
        duplicates: 1,
      });
      expect(await keys()).toEqual([webhookKey]);
    });

    it('answers duplicate when the webhook came first, and reads nothing twice once seen', async () => {
      const id = await create();
      await deliverWebhook(pipeline, await target.pay(id));
      expect(await reconciler({ expected: async () => [id] }).runOnce()).toMatchObject({
        duplicate: 1,
        enqueued: 0,
      });
      const seen = await reconciler({
        expected: async () => [{ id, seenStatus: 'paid' }],
      }).runOnce();
      expect(seen).toMatchObject({ unchanged: 1, duplicate: 0 });
      expect(await keys()).toHaveLength(1);
    });

    it('submits a missed FAILED as PAYMENT-FAILED; an unknown id is not-found', async () => {
      const id = await create();
      await target.fail(id);
      const missing = '00000000-0000-4000-8000-000000000000';
      const counts = await reconciler({ expected: async () => [id, missing] }).runOnce();
      expect(counts).toMatchObject({ enqueued: 1, 'not-found': 1 });
      expect(await keys()).toEqual([`payment-request:${id}:PAYMENT-FAILED:FAILED`]);
    });

    it('counts an unreachable API as error and enqueues at the next pass', async () => {
      const id = await create();
      await target.pay(id);
      const reports: ReconcileReport[] = [];
      const r = reconciler({ expected: async () => [id], onOutcome: (x) => reports.push(x) });
      await target.failNext({ status: 503, times: 2 });
      expect(await r.runOnce()).toMatchObject({ error: 1, enqueued: 0 });
      expect(reports[0]?.error).toMatchObject({ code: 'SERVER_ERROR', status: 503 });
      expect(await keys()).toEqual([]);
      expect(await r.runOnce()).toMatchObject({ enqueued: 1, error: 0 });
      expect(r.totals()).toMatchObject({ enqueued: 1, error: 1 });
    });

    it('counts a failing intake as error: the event is tried again at the next pass', async () => {
      const id = await create();
      await target.pay(id);
      let down = true;
      const enqueue = inbox.enqueue.bind(inbox);
      inbox.enqueue = (records) =>
        down ? Promise.reject(new Error('disk full')) : enqueue(records);
      const reports: ReconcileReport[] = [];
      const r = reconciler({ expected: async () => [id], onOutcome: (x) => reports.push(x) });
      expect(await r.runOnce()).toMatchObject({ error: 1 });
      expect(String(reports[0]?.error)).toContain('503 STORE_UNAVAILABLE');
      down = false;
      expect(await r.runOnce()).toMatchObject({ enqueued: 1 });
    });

    it('confirmPaid: a PAID of the same amount only; an API that cannot say throws', async () => {
      const paid = await create(25.5);
      await target.pay(paid);
      const active = await create(25.5);
      expect(await confirmPaid(client, { id: paid, amount: 25.5 })).toMatchObject({
        confirmed: true,
        paymentRequest: { id: paid, status: 'PAID' },
      });
      expect(await confirmPaid(client, { id: paid, amount: 2550 })).toMatchObject({
        confirmed: false,
        reason: 'the API reports an amount of 25.5, the webhook 2550',
      });
      expect(await confirmPaid(client, { id: paid, amount: undefined })).toMatchObject({
        confirmed: false,
        reason: 'the webhook carries no amount',
      });
      const notPaid = await confirmPaid(client, { id: active, amount: 25.5 });
      expect(notPaid.confirmed).toBe(false);
      expect(notPaid.confirmed ? '' : notPaid.reason).toMatch(
        /^the API reports (ACTIVE|CREATED), not PAID$/,
      );
      expect(
        await confirmPaid(client, { id: '00000000-0000-4000-8000-000000000000', amount: 1 }),
      ).toEqual({ confirmed: false, reason: 'the API has no such payment request' });
      await target.failNext({ status: 503, times: 2 });
      await expect(confirmPaid(client, { id: paid, amount: 25.5 })).rejects.toMatchObject({
        code: 'SERVER_ERROR',
      });
    });

    it('paces its reads and bounds them: never more in flight than concurrency', async () => {
      const ids = await Promise.all(Array.from({ length: 12 }, () => create()));
      const starts: number[] = [];
      let inFlight = 0;
      let maxInFlight = 0;
      const counted = {
        async getPaymentRequest(id: string, options?: { signal?: AbortSignal }) {
          starts.push(performance.now());
          maxInFlight = Math.max(maxInFlight, ++inFlight);
          try {
            await new Promise((resolve) => setTimeout(resolve, 120));
            return await client.getPaymentRequest(id, options);
          } finally {
            inFlight -= 1;
          }
        },
      };
      const before = await target.apiCalls();
      const counts = await reconciler({
        client: counted,
        expected: async () => ids,
        concurrency: 3,
        readsPerSecond: 40,
      }).runOnce();
      expect(counts.unchanged).toBe(12);
      expect(await target.apiCalls()).toBe(before + 12);
      const gaps = starts.slice(1).map((at, i) => at - (starts[i] as number));
      // The pacer releases reads 25 ms apart, by its own clock (read-pacer.ts). A loaded
      // machine may start one read a few ms after its release, which shortens the next
      // gap as seen here (22 ms once, beside two busy loops) but never lets reads bunch:
      // at most 5 in any 100 ms (4 at 40/s, one more at the window's edge).
      const inAnyWindow = Math.max(
        ...starts.map((at) => starts.filter((t) => t >= at && t < at + 100).length),
      );
      console.log(
        `[reconciler ${name}] 12 reads at 40/s, concurrency 3: min gap ${Math.min(...gaps).toFixed(1)} ms, at most ${inAnyWindow} in 100 ms, max in flight ${maxInFlight}`,
      );
      expect(inAnyWindow).toBeLessThanOrEqual(5);
      expect((starts[11] as number) - (starts[0] as number)).toBeGreaterThanOrEqual(11 * 25 - 25);
      // 120 ms a read at 40/s would hold five in flight: the bound is what stops at three.
      expect(maxInFlight).toBe(3);
    });

    it('asks for payments unsettled for afterMs, passes on a timer, and stops cleanly', async () => {
      const id = await create();
      const asked: number[] = [];
      const r = reconciler({
        afterMs: 5_000,
        everyMs: 20,
        expected: async ({ before }) => {
          asked.push(Date.now() - before);
          return [id];
        },
      });
      r.start();
      await expect.poll(() => asked.length).toBeGreaterThanOrEqual(3);
      await r.stop();
      // A read aborted by stop() may still reach the server just after: let it land.
      await new Promise((resolve) => setTimeout(resolve, 50));
      const calls = await target.apiCalls();
      const passes = asked.length;
      await new Promise((resolve) => setTimeout(resolve, 100));
      expect(asked.length).toBe(passes);
      expect(await target.apiCalls()).toBe(calls);
      for (const age of asked) expect(age).toBeGreaterThanOrEqual(5_000);
      expect(r.totals().unchanged).toBeGreaterThanOrEqual(2);
    });
  });
}
