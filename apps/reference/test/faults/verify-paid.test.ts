/**
 * `C2P_VERIFY_PAID=on`, from outside: the built app and `c2p mock` each run as
 * a process of their own. A PAID webhook is checked against the API before
 * it fulfils:
 *
 * - a forged PAID for a payment request the API reports ACTIVE, and one with
 *   another amount than the API's, fulfil nothing: each event is `dead` after
 *   one attempt with the reason, and each raises one `verify-failed` alert;
 * - a genuine PAID (the mock pays and delivers the webhook) fulfils once;
 * - an API that answers 503 is a handler failure: the event is retried, and
 *   fulfilled once the API answers, never passed unchecked.
 */
import { randomUUID } from 'node:crypto';
import { createEvent, deliver } from '@c2p/testing';
import { afterAll, describe, expect, it } from 'vitest';
import { type AlertReceiver, startAlertReceiver } from '../support/alert-receiver.js';
import {
  inboxEvent,
  type RunningReference,
  startReference,
  tempDir,
} from '../support/reference.js';
import {
  credentials,
  type Downstream,
  freePort,
  readOrder,
  sleep,
  startDownstream,
} from './support/faults.js';
import {
  createPaymentRequest,
  type MockProcess,
  settleAtMock,
  startMockProcess,
} from './support/mock-process.js';

const cleanups: Array<() => Promise<void> | void> = [];
afterAll(async () => {
  for (const cleanup of cleanups.reverse()) await cleanup();
});

const alerts = (app: RunningReference): Array<{ reason: string; event: { orderId: string } }> =>
  app
    .stdout()
    .split('\n')
    // The verifier's own line (with its reason); the alert sender logs each alert it sends too.
    .filter((line) => line.includes('"alert":"verify-failed"') && line.includes('"reason"'))
    .map((line) => JSON.parse(line) as { reason: string; event: { orderId: string } });

async function until<T>(what: string, read: () => Promise<T | undefined>): Promise<T> {
  for (const deadline = Date.now() + 30_000; Date.now() < deadline; await sleep(200)) {
    const value = await read();
    if (value !== undefined) return value;
  }
  throw new Error(`${what}: not within 30 s`);
}

describe('C2P_VERIFY_PAID=on', () => {
  let mock: MockProcess;
  let app: RunningReference;
  let webhookUrl: string;
  let downstream: Downstream;
  let receiver: AlertReceiver;
  let n = 0;
  const paymentRequest = (amount: number): Promise<string> =>
    createPaymentRequest(mock.url, {
      amount,
      merchantTransactionId: `vp-${++n}-${randomUUID().slice(0, 8)}`,
    });
  const sendPaid = (id: string, amount: number) =>
    deliver({
      url: webhookUrl,
      ...credentials,
      body: [createEvent({ id, status: 'PAID', amount })],
    });
  const key = (id: string): string => `payment-request:${id}:PAYMENT-COMPLETED:PAID`;

  it('starts the app and c2p mock', async () => {
    const port = await freePort();
    webhookUrl = `http://127.0.0.1:${port}/webhooks/clik2pay`;
    mock = await startMockProcess(webhookUrl, credentials);
    cleanups.push(mock.stop);
    downstream = await startDownstream();
    cleanups.push(downstream.close);
    receiver = await startAlertReceiver();
    cleanups.push(receiver.close);
    const dir = tempDir();
    cleanups.push(dir.remove);
    app = await startReference({
      ...mock.apiEnv,
      C2P_VERIFY_PAID: 'on',
      C2P_ALERT_URL: receiver.url,
      C2P_STORE: `sqlite:${dir.path}/reference.db`,
      C2P_ADAPTERS: 'express',
      EXPRESS_PORT: String(port),
      C2P_FULFIL_URL: downstream.url,
      C2P_RETRY_BASE_MS: '300',
    });
    cleanups.push(() => app.stop().then(() => undefined));
  });

  it('a forged PAID (API: ACTIVE; or another amount) fulfils nothing: dead at once, one alert each', async () => {
    const active = await paymentRequest(25);
    const paidElsewhere = await paymentRequest(25);
    await settleAtMock(mock.url, paidElsewhere, 'pay', { dropWebhook: true });
    expect((await sendPaid(active, 25)).delivered).toBe(true);
    expect((await sendPaid(paidElsewhere, 2500)).delivered).toBe(true);
    const dead = await Promise.all(
      [active, paidElsewhere].map((id) =>
        until(`${id} dead`, async () => {
          const event = await inboxEvent(app, key(id));
          return event?.state === 'dead' ? event : undefined;
        }),
      ),
    );
    // Three retry periods more: nothing is attempted again, no alert repeats.
    await sleep(1_500);
    const again = await Promise.all([active, paidElsewhere].map((id) => inboxEvent(app, key(id))));
    const views = await Promise.all(
      [active, paidElsewhere].map((id) => readOrder(app.adminUrl, id)),
    );
    const raised = alerts(app);
    const orders = downstream;
    console.log(
      `[verify-paid] forged PAIDs: ${dead.length} dead (attempts ${again.map((e) => e?.attempts).join(', ')}), ` +
        `fulfilments ${views.map((v) => v?.fulfilments ?? 0).join(', ')}, verify-failed alerts ${raised.length}, ` +
        `order system calls ${orders.calls.length}`,
    );
    expect(dead[0]?.lastError).toContain('C2P_VERIFY_PAID: the API reports ACTIVE, not PAID');
    expect(dead[1]?.lastError).toContain('the API reports an amount of 25, the webhook 2500');
    expect(again.map((e) => [e?.state, e?.attempts])).toEqual([
      ['dead', 1],
      ['dead', 1],
    ]);
    expect(views.map((v) => v?.fulfilments ?? 0)).toEqual([0, 0]);
    expect(raised.map((a) => a.event.orderId).sort()).toEqual([active, paidElsewhere].sort());
    expect(raised).toHaveLength(2);
    // The same two alerts reach C2P_ALERT_URL, once each.
    const sent = await until('2 verify-failed alerts at C2P_ALERT_URL', async () => {
      const got = receiver.delivered().filter((a) => a.alert === 'verify-failed');
      return got.length >= 2 ? got : undefined;
    });
    expect(sent.map((a) => (a.event as { orderId: string }).orderId).sort()).toEqual(
      [active, paidElsewhere].sort(),
    );
    expect(orders.calls).toHaveLength(0);
  });

  it('a genuine PAID, delivered by c2p mock, fulfils once', async () => {
    const id = await paymentRequest(42.5);
    const settled = await settleAtMock(mock.url, id, 'pay');
    expect(settled.webhook).toMatchObject({ delivered: true });
    const order = await until('fulfilled', async () => {
      const view = await readOrder(app.adminUrl, id);
      return view?.fulfilments === 1 ? view : undefined;
    });
    const orders = downstream;
    console.log(
      `[verify-paid] genuine PAID: state ${order.state}, fulfilments ${order.fulfilments}`,
    );
    expect(order.state).toBe('paid');
    expect(orders.byOrder().get(id)?.calls).toBe(1);
    expect(alerts(app)).toHaveLength(2);
    expect(receiver.delivered().filter((a) => a.alert === 'verify-failed')).toHaveLength(2);
  });

  it('an API answering 503 is a handler failure, retried: fulfilled once it answers', async () => {
    const id = await paymentRequest(7);
    await settleAtMock(mock.url, id, 'pay', { dropWebhook: true });
    // The client's four attempts of the first handler attempt all meet a 503.
    const fault = await fetch(`${mock.url}/_mock/faults`, {
      method: 'POST',
      body: JSON.stringify({ status: 503, times: 4 }),
    });
    expect(fault.status).toBe(200);
    expect((await sendPaid(id, 7)).delivered).toBe(true);
    const retried = await until('retrying', async () => {
      const event = await inboxEvent(app, key(id));
      return event !== undefined && event.attempts >= 1 && event.lastError !== null
        ? event
        : undefined;
    });
    const order = await until('fulfilled', async () => {
      const view = await readOrder(app.adminUrl, id);
      return view?.fulfilments === 1 ? view : undefined;
    });
    const processed = await inboxEvent(app, key(id));
    console.log(
      `[verify-paid] API 503: first attempt "${retried.lastError}", then ${processed?.state} after ${processed?.attempts} attempts, fulfilments ${order.fulfilments}`,
    );
    expect(retried.lastError).toContain('the API could not be asked (SERVER_ERROR)');
    expect(processed).toMatchObject({ state: 'processed', attempts: 2 });
    expect(alerts(app)).toHaveLength(2);
  });
});
