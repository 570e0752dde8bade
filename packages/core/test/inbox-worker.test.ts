import { afterEach, describe, expect, it } from 'vitest';
import { createHandlers, type HandlerContext } from '../src/create-handlers.js';
import { C2pError, isC2pError } from '../src/errors.js';
import type { C2pEvent } from '../src/events.js';
import type { InboxRecord } from '../src/inbox-store.js';
import {
  type AttemptReport,
  type InboxWorker,
  type InboxWorkerOptions,
  startInboxWorker,
} from '../src/inbox-worker.js';
import { createMemoryInbox } from '../src/memory-inbox.js';
import type { RetrySchedule } from '../src/retry-schedule.js';

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

let serial = 0;
function record(resource: string, status = `S${++serial}`): InboxRecord {
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

/** One catch-all handler, as the tests write it. */
type Run = (event: C2pEvent, context: HandlerContext<unknown>) => Promise<void>;

function start({
  run,
  schedule = () => 20,
  ...options
}: Partial<Omit<InboxWorkerOptions, 'handlers' | 'retry'>> &
  Pick<InboxWorkerOptions, 'inbox'> & { run: Run; schedule?: RetrySchedule }) {
  const reports: AttemptReport[] = [];
  const errors: C2pError[] = [];
  const worker = startInboxWorker({
    handlers: createHandlers().onAny(run),
    retry: schedule,
    pollIntervalMs: 10,
    onAttempt: (report) => reports.push(report),
    onError: (error) => errors.push(error),
    ...options,
  });
  workers.push(worker);
  return { worker, reports, errors };
}

async function until(check: () => boolean | Promise<boolean>, ms = 5_000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error('timed out waiting for the condition');
    await sleep(5);
  }
}

describe('startInboxWorker', () => {
  it('runs a stored event once with its key and attempt, and marks it processed', async () => {
    const inbox = createMemoryInbox();
    const seen: Array<{ event: C2pEvent; context: HandlerContext<unknown> }> = [];
    const { worker, reports } = start({
      inbox,
      run: async (event, context) => {
        seen.push({ event, context });
      },
    });
    const r = record('PR-1', 'PAID');
    await inbox.enqueue([r]);
    worker.wake();
    await until(() => reports.length === 1);
    await worker.idle();
    expect(seen).toHaveLength(1);
    expect(seen[0]?.event).toMatchObject({
      known: true,
      eventType: 'PAYMENT-COMPLETED',
      kind: 'payment-request',
      resource: { id: 'PR-1', status: 'PAID' },
    });
    expect(seen[0]?.context).toEqual({ key: r.key, attempt: 1, tx: undefined });
    expect(reports[0]).toMatchObject({ key: r.key, attempt: 1, outcome: 'processed' });
    expect(await inbox.counts()).toEqual({
      pending: 0,
      retrying: 0,
      dead: 0,
      processed: 1,
      resolved: 0,
    });
  });

  it('retries a failing event on the schedule until it succeeds', async () => {
    const inbox = createMemoryInbox();
    let calls = 0;
    const { worker, reports, errors } = start({
      inbox,
      run: async () => {
        calls++;
        if (calls < 3) throw new Error(`downstream down (${calls})`);
      },
    });
    await inbox.enqueue([record('PR-1')]);
    worker.wake();
    await until(() => reports.some((r) => r.outcome === 'processed'));
    expect(reports.map((r) => [r.attempt, r.outcome])).toEqual([
      [1, 'retrying'],
      [2, 'retrying'],
      [3, 'processed'],
    ]);
    expect(errors.map((e) => [e.code, (e.cause as Error).message])).toEqual([
      ['HANDLER_FAILED', 'downstream down (1)'],
      ['HANDLER_FAILED', 'downstream down (2)'],
    ]);
    const [entry] = await inbox.list({ state: 'processed' });
    expect(entry?.attempts).toBe(3);
    expect(entry?.lastError).toBe('Error: downstream down (2)');
  });

  it('marks an event dead when the schedule is spent, and runs it again once replayed', async () => {
    const inbox = createMemoryInbox();
    let healthy = false;
    const { worker, reports } = start({
      inbox,
      schedule: (attempts) => (attempts >= 2 ? null : 5),
      run: async () => {
        if (!healthy) throw new Error('still down');
      },
    });
    await inbox.enqueue([record('PR-1')]);
    worker.wake();
    await until(() => reports.some((r) => r.outcome === 'dead'));
    expect(reports.map((r) => r.outcome)).toEqual(['retrying', 'dead']);
    const [dead] = await inbox.list({ state: 'dead' });
    expect(dead?.lastError).toBe('Error: still down');
    healthy = true;
    expect(await inbox.replay(dead?.id ?? '')).toBe(true);
    worker.wake();
    await until(() => reports.some((r) => r.outcome === 'processed'));
    expect(await inbox.counts()).toEqual({
      pending: 0,
      retrying: 0,
      dead: 0,
      processed: 1,
      resolved: 0,
    });
  });

  it("marks an event dead at once when a handler throws EVENT_REFUSED, with the handler's reason", async () => {
    const inbox = createMemoryInbox();
    const scheduled: number[] = [];
    const { worker, reports, errors } = start({
      inbox,
      schedule: (attempts) => {
        scheduled.push(attempts);
        return 5;
      },
      run: async (event) => {
        if (event.resource.id === 'PR-refused') {
          throw new C2pError('EVENT_REFUSED', { message: 'the API reports ACTIVE, not PAID' });
        }
        throw new Error('down');
      },
    });
    await inbox.enqueue([record('PR-refused'), record('PR-failing')]);
    worker.wake();
    await until(() => reports.some((r) => r.outcome === 'dead'));
    await until(() => reports.filter((r) => r.outcome === 'retrying').length >= 2);
    const refused = reports.filter((r) => r.resourceKey === 'payment-request:PR-refused');
    expect(refused.map((r) => r.outcome)).toEqual(['dead']);
    expect(refused[0]?.error?.code).toBe('HANDLER_FAILED');
    const [dead] = await inbox.list({ state: 'dead' });
    expect(dead?.lastError).toBe('C2pError: EVENT_REFUSED the API reports ACTIVE, not PAID');
    expect(dead?.attempts).toBe(1);
    // The schedule is asked only for the other event, which keeps retrying.
    expect(scheduled.length).toBeGreaterThanOrEqual(2);
    expect(
      reports.filter((r) => r.resourceKey === 'payment-request:PR-failing').map((r) => r.outcome),
    ).not.toContain('dead');
    expect(errors.some((e) => isC2pError(e.cause, 'EVENT_REFUSED'))).toBe(true);
  });

  it('runs the events of one resource one at a time in arrival order, others in parallel', async () => {
    const inbox = createMemoryInbox();
    const log: string[] = [];
    let running = 0;
    let most = 0;
    const { worker } = start({
      inbox,
      concurrency: 4,
      run: async (event) => {
        running++;
        most = Math.max(most, running);
        log.push(`start ${event.resource.id} ${event.resource.status}`);
        await sleep(15);
        log.push(`end ${event.resource.id} ${event.resource.status}`);
        running--;
      },
    });
    await inbox.enqueue([record('R1', 'A'), record('R2', 'A'), record('R1', 'B')]);
    await inbox.enqueue([record('R1', 'C'), record('R3', 'A')]);
    worker.wake();
    await until(async () => (await inbox.counts()).processed === 5);
    const r1 = log.filter((line) => line.includes(' R1 '));
    expect(r1).toEqual([
      'start R1 A',
      'end R1 A',
      'start R1 B',
      'end R1 B',
      'start R1 C',
      'end R1 C',
    ]);
    expect(most).toBeGreaterThan(1);
  });

  it('renews its lease while a slow handler runs, so a second worker never takes the event', async () => {
    const inbox = createMemoryInbox();
    let runs = 0;
    // Three lease lengths long, renewed every third of one: generous enough for a loaded machine.
    const slow = async () => {
      runs++;
      await sleep(900);
    };
    const first = start({ inbox, run: slow, leaseMs: 300 });
    start({ inbox, run: slow, leaseMs: 300 });
    await inbox.enqueue([record('PR-1')]);
    first.worker.wake();
    await until(async () => (await inbox.counts()).processed === 1);
    await sleep(50);
    expect(runs).toBe(1);
  });

  it('marks an unreadable stored payload dead at once, without running handlers', async () => {
    const inbox = createMemoryInbox();
    let runs = 0;
    const { worker, reports } = start({
      inbox,
      run: async () => {
        runs++;
      },
    });
    await inbox.enqueue([{ ...record('PR-1'), payload: '{"not":"an event"}' }]);
    worker.wake();
    await until(() => reports.length === 1);
    expect(reports[0]?.outcome).toBe('dead');
    expect(runs).toBe(0);
  });

  it('stop() waits for the running handler and leases nothing after', async () => {
    const inbox = createMemoryInbox();
    let finished = 0;
    const { worker } = start({
      inbox,
      run: async () => {
        await sleep(50);
        finished++;
      },
    });
    await inbox.enqueue([record('PR-1')]);
    worker.wake();
    await until(async () => (await inbox.list({ state: 'pending' }))[0]?.attempts === 1);
    await worker.stop();
    expect(finished).toBe(1);
    await inbox.enqueue([record('PR-2')]);
    worker.wake();
    await sleep(50);
    expect((await inbox.counts()).pending).toBe(1);
  });

  it('keeps going when the inbox fails for a while', async () => {
    const inbox = createMemoryInbox();
    let down = true;
    const flaky = {
      ...inbox,
      lease: async (limit: number, leaseMs: number) => {
        if (down) throw new Error('connection refused');
        return inbox.lease(limit, leaseMs);
      },
    };
    let runs = 0;
    const { errors } = start({
      inbox: flaky,
      run: async () => {
        runs++;
      },
    });
    await inbox.enqueue([record('PR-1')]);
    await until(() => errors.length >= 2);
    expect(errors[0]?.code).toBe('STORE_UNAVAILABLE');
    down = false;
    await until(() => runs === 1);
  });

  it('sweeps processed events past the retention on its interval', async () => {
    let clock = Date.now();
    const inbox = createMemoryInbox({ retainMs: 1_000, now: () => clock });
    const { worker } = start({
      inbox,
      now: () => clock,
      sweepIntervalMs: 5_000,
      run: async () => {},
    });
    // Received on the test's clock, or a Date.now() a millisecond past it is never due.
    await inbox.enqueue([{ ...record('PR-1'), receivedAt: clock }]);
    worker.wake();
    await until(async () => (await inbox.counts()).processed === 1);
    clock += 2_000;
    worker.wake();
    await sleep(30);
    // Past the retention, but the sweep interval has not come round yet.
    expect(inbox.size()).toBe(1);
    clock += 5_000;
    worker.wake();
    await until(() => inbox.size() === 0);
  });

  it('records a commit that keeps failing on the schedule, so it ends dead instead of looping', async () => {
    const inbox = createMemoryInbox();
    // A handler that left its transaction unusable: every commit fails, the store is up.
    const poisoned = {
      ...inbox,
      complete: async () => {
        throw new Error('current transaction is aborted');
      },
    };
    const { worker, reports, errors } = start({
      inbox: poisoned,
      schedule: (attempts) => (attempts >= 3 ? null : 5),
      run: async () => {},
    });
    await inbox.enqueue([record('PR-1')]);
    worker.wake();
    await until(() => reports.some((r) => r.outcome === 'dead'));
    expect(reports.map((r) => r.outcome)).toEqual(['retrying', 'retrying', 'dead']);
    expect(errors.map((e) => e.code)).toEqual([
      'STORE_UNAVAILABLE',
      'STORE_UNAVAILABLE',
      'STORE_UNAVAILABLE',
    ]);
  });

  it('refuses bad options, naming them', () => {
    const inbox = createMemoryInbox();
    const handlers = createHandlers();
    expect(() => startInboxWorker({ inbox, handlers, concurrency: 0 })).toThrow(
      /options\.concurrency: must be a positive integer/,
    );
    expect(() => startInboxWorker({ inbox, handlers, leaseMs: Number.NaN })).toThrow(
      /options\.leaseMs/,
    );
    expect(() => startInboxWorker({ inbox, handlers, pollIntervalMs: 0 })).toThrow(
      /options\.pollIntervalMs: must be a positive integer/,
    );
    expect(() => startInboxWorker({ inbox, handlers, sweepIntervalMs: -1 })).toThrow(
      /options\.sweepIntervalMs: must be a non-negative integer/,
    );
  });

  it('reports an attempt whose completion finds the lease taken as lease_lost', async () => {
    const inbox = createMemoryInbox();
    const taken = { ...inbox, complete: async () => false };
    const { worker, reports } = start({ inbox: taken, run: async () => {} });
    await inbox.enqueue([record('PR-1')]);
    worker.wake();
    await until(() => reports.length === 1);
    expect(reports[0]).toMatchObject({ outcome: 'lease_lost', nextAttemptAt: null });
  });

  it('reports a failure the inbox no longer accepts as lease_lost', async () => {
    const inbox = createMemoryInbox();
    const taken = { ...inbox, fail: async () => false };
    const { worker, reports } = start({
      inbox: taken,
      run: async () => {
        throw new Error('down');
      },
    });
    await inbox.enqueue([record('PR-1')]);
    worker.wake();
    await until(() => reports.length === 1);
    expect(reports[0]).toMatchObject({ outcome: 'lease_lost', nextAttemptAt: null });
    expect(reports[0]?.error?.code).toBe('HANDLER_FAILED');
  });

  it('reports store_unavailable, with both errors, when a failure cannot be recorded', async () => {
    let clock = 10_000;
    const inbox = createMemoryInbox({ now: () => clock });
    const down = {
      ...inbox,
      fail: async () => {
        throw new Error('connection refused');
      },
    };
    const contexts: unknown[] = [];
    const { worker, reports, errors } = start({
      inbox: down,
      now: () => clock,
      onError: (error, context) => {
        errors.push(error);
        contexts.push(context);
      },
      run: async () => {
        clock += 25;
        throw new Error('handler broke');
      },
    });
    const r = { ...record('PR-1'), receivedAt: clock };
    await inbox.enqueue([r]);
    worker.wake();
    await until(() => reports.length === 1);
    expect(reports[0]).toMatchObject({
      key: r.key,
      outcome: 'store_unavailable',
      nextAttemptAt: null,
      durationMs: 25,
    });
    expect(reports[0]?.error?.code).toBe('HANDLER_FAILED');
    expect(errors.map((e) => e.code)).toEqual(['HANDLER_FAILED', 'STORE_UNAVAILABLE']);
    expect((errors[1]?.cause as Error | undefined)?.message).toBe('connection refused');
    expect(contexts[0]).toMatchObject({
      key: r.key,
      attempt: 1,
      event: { eventType: 'PAYMENT-COMPLETED' },
    });
    expect(contexts[1]).toMatchObject({ key: r.key, event: { eventType: 'PAYMENT-COMPLETED' } });
  });

  it('reports when a retry is due and how long the attempt took, on its clock', async () => {
    let clock = 50_000;
    const inbox = createMemoryInbox({ now: () => clock });
    let calls = 0;
    const { worker, reports } = start({
      inbox,
      now: () => clock,
      schedule: () => 7_000,
      run: async () => {
        calls++;
        clock += 40;
        if (calls === 1) throw new Error('down');
      },
    });
    await inbox.enqueue([{ ...record('PR-1'), receivedAt: clock }]);
    worker.wake();
    await until(() => reports.length === 1);
    expect(reports[0]).toMatchObject({
      outcome: 'retrying',
      nextAttemptAt: 57_040,
      durationMs: 40,
    });
    clock = 57_040;
    worker.wake();
    await until(() => reports.length === 2);
    expect(reports[1]).toMatchObject({ outcome: 'processed', attempt: 2, durationMs: 40 });
  });

  it('keeps the last error short: at most 500 characters, and any thrown value', async () => {
    const inbox = createMemoryInbox();
    const thrown: unknown[] = [
      new Error('x'.repeat(600)),
      'a plain string',
      new Error('y'.repeat(493)),
    ];
    const { worker, reports } = start({
      inbox,
      schedule: () => null,
      run: async () => {
        throw thrown.shift();
      },
    });
    await inbox.enqueue([record('PR-1'), record('PR-2'), record('PR-3')]);
    worker.wake();
    await until(() => reports.length === 3);
    const errors = (await inbox.list({ state: 'dead' })).map((entry) => entry.lastError).sort();
    expect(errors).toEqual([
      `Error: ${'x'.repeat(490)}...`,
      // Exactly 500: kept whole.
      `Error: ${'y'.repeat(493)}`,
      'a plain string',
    ]);
  });

  it('marks a stored batch or unreadable payload dead as a handler failure, saying why', async () => {
    const inbox = createMemoryInbox();
    let runs = 0;
    const { worker, reports, errors } = start({
      inbox,
      run: async () => {
        runs++;
      },
    });
    const one = JSON.parse(record('PR-1').payload);
    await inbox.enqueue([
      { ...record('PR-1'), payload: JSON.stringify([one, one]) },
      { ...record('PR-2'), payload: 'not json' },
    ]);
    worker.wake();
    await until(() => reports.length === 2);
    expect(reports.map((r) => r.outcome)).toEqual(['dead', 'dead']);
    expect(runs).toBe(0);
    expect(errors.map((e) => e.code)).toEqual(['HANDLER_FAILED', 'HANDLER_FAILED']);
    for (const entry of await inbox.list({ state: 'dead' }))
      expect(entry.lastError).toBe('Error: the stored payload is not one valid event');
  });

  it("runs handlers inside a transactional inbox's completeWithin, with its transaction", async () => {
    const inbox = createMemoryInbox();
    const completed: string[] = [];
    const transactional = {
      ...inbox,
      complete: async () => {
        throw new Error('complete() must not be called on a transactional inbox');
      },
      completeWithin: async (id: string, token: string, work: (tx: unknown) => Promise<void>) => {
        await work('the-tx');
        completed.push(id);
        return inbox.complete(id, token);
      },
    };
    const seen: unknown[] = [];
    const { worker, reports } = start({
      inbox: transactional,
      run: async (_, context) => {
        seen.push(context.tx);
      },
    });
    await inbox.enqueue([record('PR-1')]);
    worker.wake();
    await until(() => reports.length === 1);
    expect(reports[0]?.outcome).toBe('processed');
    expect(seen).toEqual(['the-tx']);
    expect(completed).toHaveLength(1);
  });

  it('runs at most concurrency events at once, 4 by default', async () => {
    for (const concurrency of [2, undefined]) {
      const inbox = createMemoryInbox();
      let running = 0;
      let most = 0;
      const { worker } = start({
        inbox,
        ...(concurrency === undefined ? {} : { concurrency }),
        run: async () => {
          running++;
          most = Math.max(most, running);
          await sleep(20);
          running--;
        },
      });
      await inbox.enqueue(Array.from({ length: 8 }, (_, i) => record(`PR-${i}`)));
      worker.wake();
      await until(async () => (await inbox.counts()).processed === 8);
      expect(most).toBe(concurrency ?? 4);
    }
  });

  it('renews a lease every third of it while the handler runs, and not after', async () => {
    const inbox = createMemoryInbox();
    let renewals = 0;
    const counting = {
      ...inbox,
      renew: async (id: string, token: string, leaseMs: number) => {
        renewals++;
        return inbox.renew(id, token, leaseMs);
      },
    };
    const { worker, reports } = start({
      inbox: counting,
      leaseMs: 300,
      run: async () => {
        await sleep(250);
      },
    });
    await inbox.enqueue([record('PR-1')]);
    worker.wake();
    await until(() => reports.length === 1);
    // 250 ms at one renewal per 100 ms: two, perhaps three on a slow machine.
    expect(renewals).toBeGreaterThanOrEqual(1);
    expect(renewals).toBeLessThanOrEqual(3);
    const after = renewals;
    await sleep(250);
    expect(renewals).toBe(after);
  });

  it('idle() resolves only once every due event has run', async () => {
    const inbox = createMemoryInbox();
    let finished = 0;
    const { worker } = start({
      inbox,
      concurrency: 1,
      run: async () => {
        await sleep(30);
        finished++;
      },
    });
    await inbox.enqueue([record('PR-1'), record('PR-2'), record('PR-3')]);
    await worker.idle();
    expect(finished).toBe(3);
  });

  it('runs an event at once when woken, and otherwise at its poll interval (1 s by default)', async () => {
    const inbox = createMemoryInbox();
    const woken = start({ inbox, pollIntervalMs: 60_000, run: async () => {} });
    await sleep(20);
    await inbox.enqueue([record('PR-1')]);
    woken.worker.wake();
    await until(() => woken.reports.length === 1, 2_000);
    await woken.worker.stop();

    const polled = createMemoryInbox();
    // The helper's short interval overridden by the default.
    const { reports } = start({ inbox: polled, pollIntervalMs: undefined, run: async () => {} });
    // Started after the worker's first look: found at its next poll, a second on.
    const stored = Date.now();
    await sleep(20);
    await polled.enqueue([record('PR-2')]);
    await sleep(300);
    expect(reports).toHaveLength(0);
    await until(() => reports.length === 1, 5_000);
    expect(Date.now() - stored).toBeGreaterThanOrEqual(900);
  });

  it('sweeps on its interval from its start, never with 0, and only inboxes that can', async () => {
    let clock = 100_000;
    const inbox = createMemoryInbox({ now: () => clock });
    let sweeps = 0;
    const counting = {
      ...inbox,
      sweep: async () => {
        sweeps++;
        return inbox.sweep();
      },
    };
    const { worker } = start({
      inbox: counting,
      now: () => clock,
      sweepIntervalMs: 1_000,
      run: async () => {},
    });
    const settle = async () => {
      worker.wake();
      await sleep(30);
    };
    await settle();
    expect(sweeps).toBe(0);
    clock += 999;
    await settle();
    expect(sweeps).toBe(0);
    clock += 1;
    await settle();
    expect(sweeps).toBe(1);
    await settle();
    expect(sweeps).toBe(1);

    const never = start({
      inbox: counting,
      now: () => clock,
      sweepIntervalMs: 0,
      run: async () => {},
    });
    clock += 10_000_000;
    never.worker.wake();
    await sleep(30);
    await worker.stop();
    sweeps = 0;
    never.worker.wake();
    await sleep(30);
    expect(sweeps).toBe(0);

    const { sweep: _, ...unsweepable } = inbox;
    const plain = start({
      inbox: unsweepable,
      now: () => clock,
      sweepIntervalMs: 1,
      run: async () => {},
    });
    clock += 10;
    plain.worker.wake();
    await sleep(30);
    expect(plain.errors).toEqual([]);
  });

  it('reports a sweep that fails, and keeps running events', async () => {
    let clock = Date.now();
    const inbox = createMemoryInbox({ now: () => clock });
    const failing = {
      ...inbox,
      sweep: async (): Promise<number> => {
        throw new Error('sweep refused');
      },
    };
    let runs = 0;
    const { worker, errors } = start({
      inbox: failing,
      now: () => clock,
      sweepIntervalMs: 1_000,
      run: async () => {
        runs++;
      },
    });
    clock += 1_000;
    worker.wake();
    await until(() => errors.length === 1);
    expect(errors[0]?.code).toBe('STORE_UNAVAILABLE');
    expect((errors[0]?.cause as Error | undefined)?.message).toBe('sweep refused');
    await inbox.enqueue([{ ...record('PR-1'), receivedAt: clock }]);
    worker.wake();
    await until(() => runs === 1);
  });

  it('reports a store failure once when recording it fails too', async () => {
    const inbox = createMemoryInbox();
    const down = {
      ...inbox,
      complete: async (): Promise<boolean> => {
        throw new Error('commit failed');
      },
      fail: async (): Promise<boolean> => {
        throw new Error('still down');
      },
    };
    const { worker, reports, errors } = start({ inbox: down, run: async () => {} });
    await inbox.enqueue([record('PR-1')]);
    worker.wake();
    await until(() => reports.length === 1);
    expect(reports[0]?.outcome).toBe('store_unavailable');
    expect(errors.map((e) => [e.code, (e.cause as Error | undefined)?.message])).toEqual([
      ['STORE_UNAVAILABLE', 'commit failed'],
    ]);
  });

  it('idle() waits for a running event even when nothing else can be leased', async () => {
    const inbox = createMemoryInbox();
    let finished = 0;
    const { worker } = start({
      inbox,
      concurrency: 2,
      run: async () => {
        await sleep(50);
        finished++;
      },
    });
    // One resource: the second event waits for the first, so a look finds nothing.
    await inbox.enqueue([record('PR-1'), record('PR-1')]);
    worker.wake();
    await until(async () => (await inbox.list({ state: 'pending' }))[0]?.attempts === 1);
    await worker.idle();
    expect(finished).toBe(2);
  });

  it('is idle at once once stopped', async () => {
    const { worker } = start({ inbox: createMemoryInbox(), run: async () => {} });
    await worker.stop();
    await worker.idle();
  });
});
