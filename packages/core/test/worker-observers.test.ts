import { afterEach, describe, expect, it } from 'vitest';
import { createHandlers } from '../src/create-handlers.js';
import { describeCause } from '../src/describe-cause.js';
import { readInboxHealth } from '../src/inbox-health.js';
import type { InboxRecord } from '../src/inbox-store.js';
import {
  type InboxWorker,
  type InboxWorkerOptions,
  startInboxWorker,
} from '../src/inbox-worker.js';
import { createMemoryInbox } from '../src/memory-inbox.js';
import type { BacklogReport, DeadEvent } from '../src/worker-observers.js';

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

let serial = 0;
function record(resource: string, receivedAt = Date.now()): InboxRecord {
  const status = `S${++serial}`;
  return {
    key: `payment-request:${resource}:PAYMENT-COMPLETED:${status}`,
    resourceKey: `payment-request:${resource}`,
    eventType: 'PAYMENT-COMPLETED',
    payload: JSON.stringify({
      eventType: 'PAYMENT-COMPLETED',
      resourceType: 'payment-request',
      resource: { id: resource, status },
    }),
    receivedAt,
    clientIp: '127.0.0.1',
  };
}

async function until(check: () => boolean | Promise<boolean>, ms = 5_000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error('timed out waiting for the condition');
    await sleep(5);
  }
}

const workers: InboxWorker[] = [];
afterEach(async () => {
  await Promise.all(workers.splice(0).map((worker) => worker.stop()));
});

function start(options: Omit<InboxWorkerOptions, 'handlers'> & { fail: () => boolean }) {
  const { fail, ...rest } = options;
  const worker = startInboxWorker({
    // These handlers fail on purpose, more than the breaker's 5 in a row: it would hold them 30 s.
    breaker: false,
    handlers: createHandlers().onAny(async () => {
      if (fail()) {
        const refused = Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:5299'), {
          code: 'ECONNREFUSED',
        });
        throw new Error('C2P_FULFIL_URL: the request failed', {
          cause: new TypeError('fetch failed', { cause: refused }),
        });
      }
    }),
    pollIntervalMs: 10,
    ...rest,
  });
  workers.push(worker);
  return worker;
}

describe('onDead', () => {
  it('is called once per event that goes dead, with its cause, and again after a replay dies', async () => {
    const inbox = createMemoryInbox();
    const dead: DeadEvent[] = [];
    const attempts: string[] = [];
    const worker = start({
      inbox,
      fail: () => true,
      retry: { maxAttempts: 3, baseDelayMs: 1 },
      onAttempt: (report) => attempts.push(report.outcome),
      onDead: (event) => dead.push(event),
    });
    const [id] = await inbox.enqueue([record('PR-dead')]).then(async () => {
      const [entry] = await inbox.list({ state: 'pending', limit: 1 });
      return [entry?.id as string];
    });
    worker.wake();
    await until(async () => (await inbox.counts()).dead === 1);
    await worker.idle();
    expect(attempts).toEqual(['retrying', 'retrying', 'dead']);
    expect(dead).toEqual([
      {
        id,
        key: expect.stringContaining('PR-dead'),
        resource: 'payment-request:PR-dead',
        eventType: 'PAYMENT-COMPLETED',
        attempts: 3,
        lastError:
          'Error: C2P_FULFIL_URL: the request failed: fetch failed: connect ECONNREFUSED 127.0.0.1:5299',
      },
    ]);
    expect((await inbox.get(id as string))?.lastError).toBe(dead[0]?.lastError);
    await inbox.replay(id as string);
    worker.wake();
    await until(() => dead.length === 2);
    await worker.idle();
    expect(dead).toHaveLength(2);
    expect(attempts.filter((outcome) => outcome === 'dead')).toHaveLength(2);
  });

  it('a hook that throws changes nothing', async () => {
    const inbox = createMemoryInbox();
    const worker = start({
      inbox,
      fail: () => true,
      retry: { maxAttempts: 1 },
      onDead: () => {
        throw new Error('broken hook');
      },
    });
    await inbox.enqueue([record('PR-hook')]);
    worker.wake();
    await until(async () => (await inbox.counts()).dead === 1);
  });
});

describe('backlog check', () => {
  it('calls onBacklog once past the threshold and onRecovered once back under it', async () => {
    const inbox = createMemoryInbox();
    let failing = true;
    const backlog: BacklogReport[] = [];
    const recovered: BacklogReport[] = [];
    const worker = start({
      inbox,
      fail: () => failing,
      // One failure, then due again only in an hour: the event waits, retrying.
      retry: () => 3_600_000,
      backlogAfterMs: 200,
      backlogCheckIntervalMs: 10,
      onBacklog: (report) => backlog.push(report),
      onRecovered: (report) => recovered.push(report),
    });
    await inbox.enqueue([record('PR-slow', Date.now() - 150)]);
    worker.wake();
    await until(() => backlog.length === 1);
    expect(backlog[0]?.thresholdMs).toBe(200);
    expect(backlog[0]?.oldestUnfinishedAgeMs).toBeGreaterThan(200);
    await sleep(100);
    expect(backlog).toHaveLength(1);
    expect(recovered).toHaveLength(0);
    failing = false;
    const [entry] = await inbox.list({ state: 'retrying', limit: 1 });
    await inbox.retryNow(entry?.id as string);
    worker.wake();
    await until(() => recovered.length === 1);
    await sleep(100);
    expect(backlog).toHaveLength(1);
    expect(recovered).toHaveLength(1);
    expect(recovered[0]?.oldestUnfinishedAgeMs).toBe(0);
  });

  it('refuses a threshold that is not a positive integer, naming it', () => {
    expect(() =>
      startInboxWorker({
        inbox: createMemoryInbox(),
        handlers: createHandlers(),
        backlogAfterMs: 0,
      }),
    ).toThrow('options.backlogAfterMs');
  });
});

describe('readInboxHealth', () => {
  it('answers the counts, the age of the oldest unfinished event, and paused', async () => {
    const inbox = createMemoryInbox();
    const now = Date.now();
    await inbox.enqueue([record('PR-a', now - 5_000), record('PR-b', now - 1_000)]);
    const health = await readInboxHealth(inbox, now);
    expect(health.counts.pending).toBe(2);
    expect(health.oldestUnfinishedAgeMs).toBe(5_000);
    expect(health.paused).toBe(false);
    const pausable = {
      list: inbox.list.bind(inbox),
      counts: inbox.counts.bind(inbox),
      isPaused: async () => true,
    };
    const paused = await readInboxHealth(pausable, now);
    expect(paused.paused).toBe(true);
    expect((await readInboxHealth(createMemoryInbox(), now)).oldestUnfinishedAgeMs).toBe(0);
  });
});

describe('describeCause', () => {
  it('keeps each cause, with its code, once, within 500 characters', () => {
    const inner = Object.assign(new Error('getaddrinfo ENOTFOUND orders.invalid'), {
      code: 'ENOTFOUND',
    });
    expect(describeCause(new TypeError('fetch failed', { cause: inner }))).toBe(
      'TypeError: fetch failed: getaddrinfo ENOTFOUND orders.invalid',
    );
    const coded = Object.assign(new Error('socket hang up'), { code: 'ECONNRESET' });
    expect(describeCause(new Error('outer', { cause: coded }))).toBe(
      'Error: outer: ECONNRESET socket hang up',
    );
    expect(describeCause('plain')).toBe('plain');
    expect(describeCause(new Error('x'.repeat(600)))).toHaveLength(500);
  });
});
