import { afterEach, describe, expect, it } from 'vitest';
import { createHandlers } from '../src/create-handlers.js';
import type { InboxLease, InboxRecord, InboxStore } from '../src/inbox-store.js';
import { type InboxWorker, startInboxWorker } from '../src/inbox-worker.js';
import { createMemoryInbox } from '../src/memory-inbox.js';

// The worker's loop with a poll interval far longer than any test: whatever
// runs promptly here was started by a wake or by the loop looking again at once,
// never by the interval.

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
const LONG_POLL = 60_000;

let serial = 0;
function record(resource: string): InboxRecord {
  const status = `S${++serial}`;
  return {
    key: `payment-request:${resource}:PAYMENT-COMPLETED:${status}`,
    resourceKey: `payment-request:${resource}`,
    eventType: 'PAYMENT-COMPLETED',
    payload: JSON.stringify({ eventType: 'PAYMENT-COMPLETED', resource: { id: resource, status } }),
    receivedAt: Date.now(),
    clientIp: null,
  };
}

async function until(check: () => boolean | Promise<boolean>, ms = 3_000): Promise<void> {
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

function start(inbox: InboxStore, run: () => Promise<void>, concurrency = 4) {
  const worker = startInboxWorker({
    inbox,
    handlers: createHandlers().onAny(run),
    retry: () => null,
    concurrency,
    pollIntervalMs: LONG_POLL,
  });
  workers.push(worker);
  return worker;
}

describe('the inbox worker loop', () => {
  it('keeps a wake that comes while it is polling, and looks again at once', async () => {
    const inbox = createMemoryInbox();
    let polls = 0;
    let processed = 0;
    // Each look takes 50 ms after the inbox answered: a wake lands in between.
    const slow: InboxStore = {
      ...inbox,
      lease: async (limit, leaseMs) => {
        polls++;
        const leases = await inbox.lease(limit, leaseMs);
        await sleep(50);
        return leases;
      },
    };
    const worker = start(slow, async () => {
      processed++;
    });
    await until(() => polls === 1);
    await inbox.enqueue([record('PR-1')]);
    worker.wake();
    await until(() => processed === 1);
  });

  it('looks again at once while a look found events and there is room, for an inbox that leases one at a time', async () => {
    const inbox = createMemoryInbox();
    const oneAtATime: InboxStore = {
      ...inbox,
      lease: (_limit, leaseMs): Promise<InboxLease[]> => inbox.lease(1, leaseMs),
    };
    let running = 0;
    let most = 0;
    await inbox.enqueue([record('PR-1'), record('PR-2'), record('PR-3')]);
    const worker = start(oneAtATime, async () => {
      running++;
      most = Math.max(most, running);
      await sleep(100);
      running--;
    });
    worker.wake();
    await until(async () => (await inbox.counts()).processed === 3);
    expect(most).toBe(3);
  });

  it('stops at once when stopped while it polls, without waiting for the poll interval', async () => {
    const inbox = createMemoryInbox();
    let polls = 0;
    const slow: InboxStore = {
      ...inbox,
      lease: async (limit, leaseMs) => {
        polls++;
        await sleep(50);
        return inbox.lease(limit, leaseMs);
      },
    };
    const worker = start(slow, async () => {});
    await until(() => polls === 1);
    const asked = Date.now();
    await worker.stop();
    expect(Date.now() - asked).toBeLessThan(2_000);
    expect(polls).toBe(1);
  });

  it('starts the next event of a resource as soon as the one before it finishes, with no wake from outside', async () => {
    const inbox = createMemoryInbox();
    await inbox.enqueue([record('PR-1'), record('PR-1')]);
    const started: number[] = [];
    const finished: number[] = [];
    start(inbox, async () => {
      started.push(Date.now());
      await sleep(50);
      finished.push(Date.now());
    });
    // The first look leases only the first (its resource's head); the next looks find
    // nothing, so the worker sleeps for the long interval: only the finished event
    // can start the second, which it must at once.
    await until(() => started.length === 2);
    expect(finished).toHaveLength(1);
    expect((started[1] as number) - (finished[0] as number)).toBeLessThan(1_000);
    expect(await inbox.counts()).toMatchObject({ processed: 1 });
  });
});
