import { afterEach, describe, expect, it } from 'vitest';
import { createHandlers } from '../src/create-handlers.js';
import type { InboxRecord } from '../src/inbox-store.js';
import {
  type AttemptReport,
  type InboxWorker,
  type InboxWorkerOptions,
  startInboxWorker,
} from '../src/inbox-worker.js';
import { createMemoryInbox } from '../src/memory-inbox.js';
import { createMemoryRateGate, type RateGate } from '../src/rate-gate.js';

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

let serial = 0;
function record(resource = `PR-${++serial}`): InboxRecord {
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
    receivedAt: Date.now(),
    clientIp: '127.0.0.1',
  };
}

const workers: InboxWorker[] = [];
afterEach(async () => {
  await Promise.all(workers.splice(0).map((worker) => worker.stop()));
});

function start(options: Omit<InboxWorkerOptions, 'handlers'> & { run: () => Promise<void> }): {
  worker: InboxWorker;
  reports: AttemptReport[];
} {
  const reports: AttemptReport[] = [];
  const { run, ...rest } = options;
  const worker = startInboxWorker({
    handlers: createHandlers().onAny(run),
    retry: () => 1,
    pollIntervalMs: 10,
    onAttempt: (report) => reports.push(report),
    ...rest,
  });
  workers.push(worker);
  return { worker, reports };
}

async function until(check: () => boolean | Promise<boolean>, ms = 10_000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error('timed out waiting for the condition');
    await sleep(5);
  }
}

/** The most of `times` (ms) that fall in any window of `windowMs`, sliding. */
function mostInWindow(times: readonly number[], windowMs: number): number {
  const sorted = [...times].sort((a, b) => a - b);
  let most = 0;
  for (let i = 0, j = 0; i < sorted.length; i++) {
    while ((sorted[i] ?? 0) - (sorted[j] ?? 0) >= windowMs) j++;
    most = Math.max(most, i - j + 1);
  }
  return most;
}

describe('createMemoryRateGate', () => {
  it('spaces reservations by 1000/N ms with no burst beyond one, even after idling', async () => {
    let clock = 10_000;
    const gate = createMemoryRateGate({ perSecond: 4, now: () => clock });
    expect(await gate.reserve()).toBe(0);
    expect(await gate.reserve()).toBe(250);
    expect(await gate.reserve()).toBe(500);
    clock += 5_000;
    // Idle for five seconds: still one start at once, the next one interval later.
    expect(await gate.reserve()).toBe(0);
    expect(await gate.reserve()).toBe(250);
  });

  it('adds the margin over the second, and refuses a bad rate naming the option', async () => {
    const gate = createMemoryRateGate({ perSecond: 5, marginMs: 100, now: () => 0 });
    expect(await gate.reserve()).toBe(0);
    expect(await gate.reserve()).toBe(220);
    expect(() => createMemoryRateGate({ perSecond: 0 })).toThrow(
      '[@c2p/core] options.perSecond: must be a number from 1/3600 to 1000000',
    );
    expect(() => createMemoryRateGate({ perSecond: 5, marginMs: -1 })).toThrow('options.marginMs');
  });
});

describe('the worker with a rate', () => {
  it('starts at most N attempts in any one second, sliding', async () => {
    const inbox = createMemoryInbox();
    const starts: number[] = [];
    // A margin of 100 ms: a start is recorded a little after its slot, by however
    // long the lease and the event loop took, which varies from start to start
    // (the first, cold, start by tens of ms on a loaded machine).
    const { worker } = start({
      inbox,
      concurrency: 4,
      rate: { perSecond: 10, marginMs: 100 },
      run: async () => {
        starts.push(performance.now());
        await sleep(30);
      },
    });
    await inbox.enqueue(Array.from({ length: 25 }, () => record()));
    worker.wake();
    await until(async () => (await inbox.counts()).processed === 25);
    expect(starts).toHaveLength(25);
    expect(mostInWindow(starts, 1000)).toBe(10);
    // And close to the rate: 24 intervals of 110 ms, give or take the scheduling.
    const span = Math.max(...starts) - Math.min(...starts);
    expect(span).toBeGreaterThanOrEqual(24 * 110 - 100);
    expect(span).toBeLessThan(24 * 110 + 1_000);
  });

  it('waits for its slot before leasing, so a wait longer than the lease loses nothing', async () => {
    const inbox = createMemoryInbox();
    // Two workers share a gate that makes each wait 300 ms, three times the lease.
    const slow: RateGate = { reserve: () => Promise.resolve(300) };
    const calls: string[] = [];
    const options = {
      inbox,
      leaseMs: 100,
      rate: { gate: slow },
      run: async () => {
        calls.push('call');
      },
    };
    const one = start(options);
    const two = start(options);
    const [r] = [record()];
    await inbox.enqueue([r, record(), record()]);
    one.worker.wake();
    two.worker.wake();
    await sleep(150);
    // Nothing is leased while the workers wait for their slots.
    expect((await inbox.list({ state: 'pending' })).map((e) => e.attempts)).toEqual([0, 0, 0]);
    await until(async () => (await inbox.counts()).processed === 3);
    const reports = [...one.reports, ...two.reports];
    expect(reports.map((report) => report.outcome)).toEqual([
      'processed',
      'processed',
      'processed',
    ]);
    expect(calls).toHaveLength(3);
  });

  it('stops at once while waiting for a slot, and leases nothing', async () => {
    const inbox = createMemoryInbox();
    const gate: RateGate = { reserve: () => Promise.resolve(60_000) };
    const { worker } = start({ inbox, rate: { gate }, run: async () => {} });
    await inbox.enqueue([record()]);
    worker.wake();
    await sleep(50);
    const began = Date.now();
    await worker.stop();
    expect(Date.now() - began).toBeLessThan(1_000);
    expect(await inbox.counts()).toEqual({
      pending: 1,
      retrying: 0,
      dead: 0,
      processed: 0,
      resolved: 0,
    });
  });

  it('refuses a bad rate naming the option', () => {
    const inbox = createMemoryInbox();
    const handlers = createHandlers();
    expect(() => startInboxWorker({ inbox, handlers, rate: { perSecond: -1 } })).toThrow(
      '[@c2p/core] options.rate.perSecond: must be a number from 1/3600 to 1000000',
    );
    expect(() =>
      startInboxWorker({ inbox, handlers, rate: { gate: {} as unknown as RateGate } }),
    ).toThrow('options.rate.gate: must be a rate gate');
  });
});

describe('the worker with a circuit breaker', () => {
  it('stops after N failures in a row, lets one probe through per pause, and spends no attempts meanwhile', async () => {
    const inbox = createMemoryInbox();
    let healthy = false;
    const calls: number[] = [];
    const began = Date.now();
    const { worker, reports } = start({
      inbox,
      concurrency: 3,
      breaker: { failures: 5, openMs: 400, maxOpenMs: 800 },
      run: async () => {
        calls.push(Date.now() - began);
        await sleep(5);
        if (!healthy) throw new Error('order system refuses');
      },
    });
    await inbox.enqueue(Array.from({ length: 20 }, () => record()));
    worker.wake();
    await until(() => calls.length >= 5);
    await sleep(250);
    // Three in flight at once, yet never more than five calls before it opened.
    expect(calls).toHaveLength(5);
    await until(() => calls.length >= 6, 2_000);
    await sleep(500);
    // One probe after 400 ms; it failed, so the next pause is 800 ms.
    expect(calls).toHaveLength(6);
    expect(calls[5]).toBeGreaterThanOrEqual(400);
    const attempts = (await inbox.list({ state: 'retrying', limit: 50 })).concat(
      await inbox.list({ state: 'pending', limit: 50 }),
    );
    expect(attempts.reduce((sum, entry) => sum + entry.attempts, 0)).toBe(6);
    healthy = true;
    await until(async () => (await inbox.counts()).processed === 20, 5_000);
    // The second probe came 800 ms after the first failed one, then all ran.
    expect(calls[6]).toBeGreaterThanOrEqual((calls[5] ?? 0) + 800);
    expect(reports.filter((r) => r.outcome === 'processed')).toHaveLength(20);
  });

  it('is on by default with five failures, and off with false', async () => {
    const failing = async (breaker: InboxWorkerOptions['breaker']) => {
      const inbox = createMemoryInbox();
      let calls = 0;
      const { worker } = start({
        inbox,
        ...(breaker === undefined ? {} : { breaker }),
        run: async () => {
          calls++;
          throw new Error('down');
        },
      });
      await inbox.enqueue(Array.from({ length: 12 }, () => record()));
      worker.wake();
      await sleep(400);
      await worker.stop();
      return calls;
    };
    expect(await failing(undefined)).toBe(5);
    expect(await failing(false)).toBeGreaterThan(12);
  });

  it('closes on a success: failures must be in a row', async () => {
    const inbox = createMemoryInbox();
    let calls = 0;
    const { worker } = start({
      inbox,
      concurrency: 1,
      breaker: { failures: 3 },
      run: async () => {
        calls++;
        if (calls % 3 !== 0) throw new Error('flaky');
      },
    });
    await inbox.enqueue(Array.from({ length: 6 }, () => record()));
    worker.wake();
    await until(async () => (await inbox.counts()).processed === 6, 5_000);
    expect(calls).toBe(18);
  });

  it('refuses bad breaker options naming them', () => {
    const inbox = createMemoryInbox();
    const handlers = createHandlers();
    expect(() => startInboxWorker({ inbox, handlers, breaker: { failures: 0 } })).toThrow(
      '[@c2p/core] options.breaker.failures: must be a positive integer',
    );
    expect(() =>
      startInboxWorker({ inbox, handlers, breaker: { openMs: 2_000, maxOpenMs: 1_000 } }),
    ).toThrow('options.breaker.maxOpenMs: must be at least options.breaker.openMs');
  });
});
