import { afterEach, describe, expect, it } from 'vitest';
import type { DeliveryReport } from '../src/delivery-report.js';
import type { C2pError } from '../src/errors.js';
import type { InboxStore } from '../src/inbox-store.js';
import type { AttemptReport, InboxWorker, InboxWorkerOptions } from '../src/inbox-worker.js';
import {
  createHandlers,
  createWebhooks,
  startInboxWorker,
  wakeInboxWorkers,
} from '../src/index.js';
import type { WebhookRequest } from '../src/kit.js';
import { createMemoryInbox } from '../src/memory-inbox.js';
import { createMemoryStore } from '../src/memory-store.js';

const credentials = { username: 'clik2pay', password: 'secret' };
const authorization = `Basic ${btoa('clik2pay:secret')}`;

function event(id: string, status = 'PAID', eventType = 'PAYMENT-COMPLETED') {
  return { eventType, resourceType: 'payment-request', resource: { id, status, amount: 10 } };
}

function post(body: unknown): WebhookRequest {
  const text = JSON.stringify(body);
  return {
    method: 'POST',
    header: (name) => (name === 'authorization' ? authorization : undefined),
    body: text,
    peerAddress: '127.0.0.1',
  };
}

const workers: InboxWorker[] = [];
afterEach(async () => {
  await Promise.all(workers.splice(0).map((worker) => worker.stop()));
});

function setup(inbox: InboxStore = createMemoryInbox()) {
  const reports: DeliveryReport[] = [];
  const attempts: AttemptReport[] = [];
  const errors: C2pError[] = [];
  const handled: string[] = [];
  const webhooks = createWebhooks({ credentials, allowedIps: ['loopback'], inbox })
    .onDelivery((report) => reports.push(report))
    .onError((error) => errors.push(error));
  const handlers = createHandlers().on('PAYMENT-COMPLETED', async (e, { key, attempt, tx }) => {
    expect(tx).toBeUndefined();
    handled.push(`${e.resource.id}:${e.resource.status}:${attempt}:${key}`);
  });
  const startWorker = (options: Partial<InboxWorkerOptions> = {}): InboxWorker => {
    const worker = startInboxWorker({
      inbox,
      handlers,
      retry: { baseDelayMs: 10, maxAttempts: 3, jitter: 0 },
      onAttempt: (report) => attempts.push(report),
      onError: (error) => errors.push(error),
      ...options,
    });
    workers.push(worker);
    return worker;
  };
  return { webhooks, inbox, reports, attempts, errors, handled, startWorker };
}

async function until(check: () => boolean | Promise<boolean>, ms = 5_000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error('timed out waiting for the condition');
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
}

describe('inbox mode', () => {
  it('answers 200 once the events are stored, before any handler runs', async () => {
    const { webhooks, inbox, reports, handled } = setup();
    const response = await webhooks.handle(post([event('PR-1'), event('PR-2')]));
    expect(response.status).toBe(200);
    expect(JSON.parse(response.body)).toEqual({ received: 2, accepted: 2, duplicates: 0 });
    expect(handled).toEqual([]);
    expect(await inbox.counts()).toMatchObject({ pending: 2 });
    expect(reports[0]?.events.map((e) => e.outcome)).toEqual(['accepted', 'accepted']);
    const [stored] = await inbox.list({ state: 'pending' });
    expect(stored).toMatchObject({
      key: 'payment-request:PR-1:PAYMENT-COMPLETED:PAID',
      resourceKey: 'payment-request:PR-1',
      eventType: 'PAYMENT-COMPLETED',
      clientIp: '127.0.0.1',
    });
    expect(JSON.parse(stored?.payload ?? '')).toEqual(event('PR-1'));
  });

  it('answers a redelivery and a repeat inside one batch as duplicates', async () => {
    const { webhooks, reports } = setup();
    await webhooks.handle(post(event('PR-1')));
    const again = await webhooks.handle(post([event('PR-1'), event('PR-2'), event('PR-2')]));
    expect(again.status).toBe(200);
    expect(JSON.parse(again.body)).toEqual({ received: 3, accepted: 1, duplicates: 2 });
    expect(reports[1]?.events.map((e) => e.outcome)).toEqual([
      'duplicate',
      'accepted',
      'duplicate',
    ]);
  });

  it('answers 503 and stores nothing it did not commit when the inbox fails', async () => {
    const inbox = createMemoryInbox();
    const failing: InboxStore = {
      ...inbox,
      enqueue: async () => {
        throw new Error('disk full');
      },
    };
    const { webhooks, reports, errors } = setup(failing);
    const response = await webhooks.handle(post([event('PR-1'), event('PR-2')]));
    expect(response.status).toBe(503);
    expect(JSON.parse(response.body).error.code).toBe('STORE_UNAVAILABLE');
    expect(reports[0]?.events.map((e) => e.outcome)).toEqual([
      'store_unavailable',
      'store_unavailable',
    ]);
    expect(errors[0]?.code).toBe('STORE_UNAVAILABLE');
    expect(inbox.size()).toBe(0);
  });

  it('answers 503 when the inbox does not answer for every event', async () => {
    const inbox = createMemoryInbox();
    const short: InboxStore = { ...inbox, enqueue: async () => [true] };
    const { webhooks } = setup(short);
    const response = await webhooks.handle(post([event('PR-1'), event('PR-2')]));
    expect(response.status).toBe(503);
  });

  it('still refuses what sync mode refuses, before touching the inbox', async () => {
    const inbox = createMemoryInbox();
    const { webhooks } = setup(inbox);
    const forged = { ...post(event('PR-1')), header: () => 'Basic eDp5' };
    expect((await webhooks.handle(forged)).status).toBe(401);
    expect((await webhooks.handle({ ...post(event('PR-1')), body: '{' })).status).toBe(400);
    expect((await webhooks.handle(post({ eventType: 'X' }))).status).toBe(422);
    expect(inbox.size()).toBe(0);
  });

  it('runs stored events in the worker at once, with their key and attempt', async () => {
    const { webhooks, handled, attempts, startWorker } = setup();
    startWorker({ pollIntervalMs: 60_000 });
    // Let the worker's first look find nothing and go to sleep.
    await new Promise((resolve) => setTimeout(resolve, 20));
    await webhooks.handle(post(event('PR-1')));
    // The accepted delivery woke the worker: no poll interval passed.
    await until(() => attempts.length === 1);
    expect(handled).toEqual(['PR-1:PAID:1:payment-request:PR-1:PAYMENT-COMPLETED:PAID']);
    expect(attempts[0]).toMatchObject({ outcome: 'processed', attempt: 1 });
  });

  it('retries a failing handler on its schedule and reports each attempt and error', async () => {
    const inbox = createMemoryInbox();
    let failures = 2;
    const attempts: AttemptReport[] = [];
    const errors: C2pError[] = [];
    const webhooks = createWebhooks({ credentials, allowedIps: ['loopback'], inbox });
    const handlers = createHandlers().onAny(async () => {
      if (failures-- > 0) throw new Error('order system down');
    });
    workers.push(
      startInboxWorker({
        inbox,
        handlers,
        retry: (attempt) => (attempt < 5 ? 10 : null),
        pollIntervalMs: 5,
        onAttempt: (report) => attempts.push(report),
        onError: (error) => errors.push(error),
      }),
    );
    await webhooks.handle(post(event('PR-1')));
    await until(() => attempts.some((a) => a.outcome === 'processed'));
    expect(attempts.map((a) => a.outcome)).toEqual(['retrying', 'retrying', 'processed']);
    expect(errors.map((e) => e.code)).toEqual(['HANDLER_FAILED', 'HANDLER_FAILED']);
    expect(await inbox.counts()).toMatchObject({ processed: 1 });
  });

  it('reports each stored event of a delivery', async () => {
    const { webhooks, reports } = setup();
    await webhooks.handle(post(event('PR-1')));
    await webhooks.handle(post([event('PR-1'), event('PR-2', 'ACTIVE')]));
    expect(reports.map((report) => report.events)).toEqual([
      [
        {
          eventType: 'PAYMENT-COMPLETED',
          kind: 'payment-request',
          resourceId: 'PR-1',
          status: 'PAID',
          key: 'payment-request:PR-1:PAYMENT-COMPLETED:PAID',
          outcome: 'accepted',
        },
      ],
      [
        expect.objectContaining({ resourceId: 'PR-1', outcome: 'duplicate' }),
        expect.objectContaining({
          resourceId: 'PR-2',
          status: 'ACTIVE',
          key: 'payment-request:PR-2:PAYMENT-COMPLETED:ACTIVE',
          outcome: 'accepted',
        }),
      ],
    ]);
  });

  it('answers 500 and stores nothing when the idempotency key function throws', async () => {
    const inbox = createMemoryInbox();
    const cause = new Error('bad key');
    const seen: Array<[C2pError, unknown]> = [];
    const reports: DeliveryReport[] = [];
    const webhooks = createWebhooks({
      credentials,
      allowedIps: ['loopback'],
      inbox,
      idempotencyKey: (e) => {
        if (e.resource.id === 'PR-2') throw cause;
        return e.resource.id;
      },
    })
      .onError((error, context) => seen.push([error, context]))
      .onDelivery((report) => reports.push(report));
    const response = await webhooks.handle(post([event('PR-1'), event('PR-2')]));
    expect(response.status).toBe(500);
    expect(JSON.parse(response.body).error.code).toBe('HANDLER_FAILED');
    expect(inbox.size()).toBe(0);
    expect(seen).toHaveLength(1);
    expect(seen[0]?.[0]).toMatchObject({ code: 'HANDLER_FAILED', cause });
    expect(seen[0]?.[1]).toMatchObject({ event: { resource: { id: 'PR-2' } } });
    expect(reports[0]?.events.map((e) => e.outcome)).toEqual(['not_attempted', 'handler_failed']);
    // The event whose key could not be made has none.
    expect(reports[0]?.events.map((e) => e.key)).toEqual(['PR-1', '']);
  });

  it('says what the inbox answered when it does not answer for every event', async () => {
    const inbox = createMemoryInbox();
    for (const [answer, expected] of [
      [[true], 'the inbox answered 1 flags for 2 events'],
      [undefined, 'the inbox answered no flags for 2 events'],
    ] as const) {
      const errors: C2pError[] = [];
      const webhooks = createWebhooks({
        credentials,
        allowedIps: ['loopback'],
        inbox: { ...inbox, enqueue: async () => answer as unknown as boolean[] },
      }).onError((error) => errors.push(error));
      expect((await webhooks.handle(post([event('PR-1'), event('PR-2')]))).status).toBe(503);
      expect(errors.map((error) => (error.cause as Error).message)).toEqual([expected]);
    }
  });

  it('stops a worker: it runs nothing after, and a delivery no longer wakes it', async () => {
    const { webhooks, handled, startWorker, inbox } = setup();
    const worker = startWorker({ pollIntervalMs: 10 });
    await worker.stop();
    await webhooks.handle(post(event('PR-1')));
    wakeInboxWorkers(inbox);
    await new Promise((resolve) => setTimeout(resolve, 50));
    expect(handled).toEqual([]);
  });

  it('wakes every worker of the inbox in the process, built apart from the intake', async () => {
    const { webhooks, inbox, handled, startWorker } = setup();
    const other = createMemoryInbox();
    startWorker({ pollIntervalMs: 60_000 });
    startWorker({ pollIntervalMs: 60_000 });
    // A worker of another inbox is not woken for this one's deliveries.
    const strangers: string[] = [];
    workers.push(
      startInboxWorker({
        inbox: other,
        handlers: createHandlers().onAny((e) => {
          strangers.push(e.resource.id);
        }),
        pollIntervalMs: 60_000,
      }),
    );
    await new Promise((resolve) => setTimeout(resolve, 20));
    await webhooks.handle(post([event('PR-1'), event('PR-2'), event('PR-3')]));
    await until(() => handled.length === 3);
    expect(await inbox.counts()).toMatchObject({ processed: 3, pending: 0 });
    expect(strangers).toEqual([]);
  });

  it('wakes the workers when an event is made due outside a delivery (a replay)', async () => {
    const inbox = createMemoryInbox();
    const attempts: AttemptReport[] = [];
    let fail = true;
    workers.push(
      startInboxWorker({
        inbox,
        handlers: createHandlers().onAny(() => {
          if (fail) throw new Error('down');
        }),
        retry: () => null,
        pollIntervalMs: 60_000,
        onAttempt: (report) => attempts.push(report),
      }),
    );
    await createWebhooks({ credentials, allowedIps: ['loopback'], inbox }).handle(
      post(event('PR-1')),
    );
    await until(() => attempts.length === 1);
    expect(attempts[0]?.outcome).toBe('dead');
    fail = false;
    const [dead] = await inbox.list({ state: 'dead' });
    expect(await inbox.replay(dead?.id ?? '')).toBe(true);
    wakeInboxWorkers(inbox);
    await until(() => attempts.length === 2);
    expect(attempts[1]?.outcome).toBe('processed');
  });

  it('refuses an option of the other mode or of the worker, naming it and where it goes', () => {
    const inbox = createMemoryInbox();
    const base = { credentials, allowedIps: ['loopback'], inbox };
    const refusal = (extra: Record<string, unknown>) => {
      try {
        createWebhooks({ ...base, ...extra } as never);
      } catch (error) {
        return (error as Error).message;
      }
      return 'no error';
    };
    expect(refusal({ handlers: createHandlers() })).toBe(
      '[@c2p/core] options.handlers: are run by the worker in inbox mode: startInboxWorker({ inbox, handlers })',
    );
    expect(refusal({ retry: { maxAttempts: 3 } })).toBe(
      "[@c2p/core] options.retry: is the worker's in inbox mode: startInboxWorker({ retry })",
    );
    expect(refusal({ leaseMs: 5_000 })).toBe(
      "[@c2p/core] options.leaseMs: is the worker's in inbox mode: startInboxWorker({ leaseMs })",
    );
    expect(refusal({ retainMs: 5_000 })).toMatch(/^\[@c2p\/core\] options\.retainMs: /);
    expect(() =>
      createWebhooks({ credentials, allowedIps: ['loopback'], retry: {} } as never),
    ).toThrow("[@c2p/core] options.retry: is for inbox mode's worker: startInboxWorker({ retry })");
    expect(() => startInboxWorker({ inbox, handlers: { on() {} } as never })).toThrow(
      '[@c2p/core] options.handlers: must be a registry from createHandlers()',
    );
    expect(() =>
      createWebhooks({ credentials, allowedIps: ['loopback'], handlers: {} as never }),
    ).toThrow('[@c2p/core] options.handlers: must be a registry from createHandlers()');
  });

  it('refuses a store beside an inbox and a bad inbox, naming the option', () => {
    expect(() =>
      createWebhooks({
        credentials,
        allowedIps: ['loopback'],
        store: createMemoryStore(),
        inbox: createMemoryInbox(),
      } as never),
    ).toThrow(/options\.store: is not used in inbox mode/);
    expect(() =>
      createWebhooks({
        credentials,
        allowedIps: ['loopback'],
        inbox: { enqueue: async () => [] } as unknown as InboxStore,
      }),
    ).toThrow(/options\.inbox: has no lease\(\) method/);
    expect(() =>
      startInboxWorker({
        inbox: createMemoryInbox(),
        handlers: createHandlers(),
        retry: { maxAttempts: 0 },
      }),
    ).toThrow(/options\.retry\.maxAttempts/);
  });
});
