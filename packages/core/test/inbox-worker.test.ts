import { afterEach, describe, expect, it } from 'vitest';
import type { C2pError } from '../src/errors.js';
import type { C2pEvent } from '../src/events.js';
import type { InboxRecord } from '../src/inbox-store.js';
import {
  type AttemptReport,
  type InboxRunContext,
  type InboxWorker,
  type InboxWorkerOptions,
  startInboxWorker,
} from '../src/inbox-worker.js';
import { createMemoryInbox } from '../src/memory-inbox.js';

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

function start(options: Partial<InboxWorkerOptions> & Pick<InboxWorkerOptions, 'inbox' | 'run'>) {
  const reports: AttemptReport[] = [];
  const errors: C2pError[] = [];
  const worker = startInboxWorker({
    schedule: () => 20,
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
    const seen: Array<{ event: C2pEvent; context: InboxRunContext }> = [];
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
    expect(await inbox.counts()).toEqual({ pending: 0, retrying: 0, dead: 0, processed: 1 });
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
    expect(await inbox.counts()).toEqual({ pending: 0, retrying: 0, dead: 0, processed: 1 });
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
    const run = async () => {};
    const schedule = () => null;
    expect(() => startInboxWorker({ inbox, run, schedule, concurrency: 0 })).toThrow(
      /options\.concurrency: must be a positive integer/,
    );
    expect(() => startInboxWorker({ inbox, run, schedule, leaseMs: Number.NaN })).toThrow(
      /options\.leaseMs/,
    );
    expect(() => startInboxWorker({ inbox, run, schedule, sweepIntervalMs: -1 })).toThrow(
      /options\.sweepIntervalMs: must be a non-negative integer/,
    );
  });

  it('is idle at once once stopped', async () => {
    const { worker } = start({ inbox: createMemoryInbox(), run: async () => {} });
    await worker.stop();
    await worker.idle();
  });
});
