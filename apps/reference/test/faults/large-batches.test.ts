/**
 * A burst of large batches must not stall acceptance (issue 23, item 1): 20
 * concurrent deliveries of 1,091 events each (a body just under 64 KiB), sent
 * again as soon as each is answered, while one single PAID delivery is sent
 * every 500 ms to the reference app on a SQLite inbox (`node dist/main.js`,
 * settings by env, over HTTP). The single deliveries' p99 time to 2xx must stay
 * under 250 ms and their max under 1 s.
 *
 * The app runs with `C2P_MAX_EVENTS` raised to let these batches in (the
 * default cap refuses them with a 413): the point is that even a listener told
 * to take them keeps answering a single delivery at once.
 *
 * A shared machine slows every answer, whatever the app does (beside other
 * test runs the load average here reached 40 on 2 cores); the bounds therefore
 * grow with the share of a CPU a process gets, measured while the burst runs by
 * a probe process of its own (no store, so the app's own stalls cannot inflate
 * it): every 50 ms it spends 5 ms of CPU and reports the wall time that took.
 * The singles' p99 must stay under 250 ms, and their max under 1 s, times the
 * slowdown's p90 (at least 1). Before the fix a single waited behind every
 * large batch's commit queued before it (13 s at p50 in the report; beside a
 * load average of 36 the singles' connections were reset after 10 s).
 * Since large deliveries take turns (core's `large-turns.ts`: one per turn of
 * the event loop, after its I/O poll), on a quiet machine (slowdown median
 * 1.07, p90 2.06): singles p50 16 ms, p90 44 ms, p99 81 ms, max 1.3 s. Beside a
 * CI run and two busy loops (slowdown p90 3.8): p50 36 ms, p99 151 ms, where
 * the same load gave p50 170 ms and p99 330 ms before.
 * The max was the first single, sent as the burst starts, on a new connection:
 * the app got its request 1.1 s late and answered it in 9 ms (a `--require`
 * hook on the server's `connection` and `request` events). Node (libuv since
 * 1.45) accepts one connection per turn of the loop, and each turn held one
 * large delivery's commit (about 50 ms), so the single's connection waited
 * behind the 20 senders' connections. The SQLite inbox now gives the loop 8
 * turns after a large commit (store-sqlite's `turnsAfterLarge`); on a quiet
 * machine (slowdown median 1.34, p90 2.46): singles p50 15 ms, p90 37 ms,
 * p99 57 ms, max 590 ms.
 */
import { spawn } from 'node:child_process';
import { createEvent } from '@c2p/testing';
import { afterAll, describe, expect, it } from 'vitest';
import { tempDir } from '../support/reference.js';
import {
  credentials,
  percentile,
  requireInbox,
  sleep,
  startDownstream,
  supervise,
} from './support/faults.js';

/** Concurrent senders of large batches. */
const bursters = 20;
/** Events per large batch: with the bodies below, just under 64 KiB. */
const eventsPerBatch = 1_091;
/** One single delivery every this many ms, while the senders of large batches keep sending. */
const singleEveryMs = 500;
/** 100 singles (50 s), so that p99 is not simply the max. */
const singles = 100;
const p99BoundMs = 250;
const maxBoundMs = 1_000;

const authorization = `Basic ${Buffer.from(`${credentials.username}:${credentials.password}`).toString('base64')}`;

/** A body of `count` small events, 60 bytes each with its comma (65,460 bytes for 1,091); ids repeat every 10 rounds. */
function largeBatch(sender: number, round: number, count: number): string {
  const events: string[] = [];
  for (let i = 0; i < count; i++) {
    const id = `${String(sender).padStart(2, '0')}${round % 10}${String(i).padStart(5, '0')}`;
    events.push(`{"eventType":"PAYMENT-FAILED","resource":{"id":"${id}"}}`);
  }
  return `[${events.join(',')}]`;
}

interface Answer {
  status: number;
  ms: number;
}

/** One POST; status 0 when no answer came (a reset connection, a timeout). */
async function post(url: string, body: string): Promise<Answer> {
  const began = performance.now();
  try {
    const response = await fetch(url, {
      method: 'POST',
      headers: { authorization, 'content-type': 'application/json' },
      body,
      signal: AbortSignal.timeout(30_000),
    });
    await response.arrayBuffer();
    return { status: response.status, ms: performance.now() - began };
  } catch {
    return { status: 0, ms: performance.now() - began };
  }
}

/**
 * The machine's slowdown, without the app: a child that, every 50 ms, spends
 * 5 ms of CPU and prints how much wall time that took, over the CPU time.
 */
function startSlowdownProbe(): { readings: number[]; stop(): void } {
  const code = `setInterval(() => {
    const wall = performance.now(); const cpu = process.cpuUsage();
    let spent = 0; while (spent < 5000) { const u = process.cpuUsage(cpu); spent = u.user + u.system; }
    console.log(((performance.now() - wall) * 1000 / spent).toFixed(3));
  }, 50);`;
  const child = spawn(process.execPath, ['-e', code], { stdio: ['ignore', 'pipe', 'inherit'] });
  const readings: number[] = [];
  child.stdout.setEncoding('utf8').on('data', (chunk: string) => {
    for (const line of chunk.split('\n')) if (line.trim() !== '') readings.push(Number(line));
  });
  return { readings, stop: () => child.kill() };
}

const figures = (values: readonly number[]): string =>
  [50, 90, 99]
    .map((p) => `p${p} ${percentile(values, p).toFixed(1)} ms`)
    .concat(`max ${Math.max(...values).toFixed(1)} ms`)
    .join(', ');

const cleanups: Array<() => Promise<unknown> | unknown> = [];
afterAll(async () => {
  for (const cleanup of cleanups.reverse()) await cleanup();
});

describe('a burst of large batches (SQLite inbox)', () => {
  it("answers single deliveries in p99 < 250 ms and max < 1 s (times the machine's measured slowdown)", async () => {
    const dir = tempDir();
    cleanups.push(dir.remove);
    const downstream = await startDownstream();
    cleanups.push(downstream.close);
    const listener = await supervise({
      adapter: 'fastify',
      env: {
        C2P_STORE: `sqlite:${dir.path}/reference.db`,
        C2P_MODE: 'inbox',
        C2P_FULFIL_URL: downstream.url,
        C2P_MAX_EVENTS: String(eventsPerBatch),
      },
    });
    cleanups.push(() => listener.stop());
    await requireInbox(listener.adminUrl);
    const single = (): string =>
      JSON.stringify([createEvent({ eventType: 'PAYMENT-COMPLETED', status: 'PAID' })]);
    // Warm-up (JIT, connections), not counted.
    for (let i = 0; i < 5; i++) await post(listener.webhookUrl, single());
    const slowdown = startSlowdownProbe();
    cleanups.push(slowdown.stop);

    const batches: Answer[] = [];
    let bursting = true;
    // Each sender sends its next large batch as soon as the last is answered, until the singles are done.
    const burst = Promise.all(
      Array.from({ length: bursters }, async (_, sender) => {
        for (let round = 0; bursting; round++) {
          batches.push(await post(listener.webhookUrl, largeBatch(sender, round, eventsPerBatch)));
        }
      }),
    );
    const sent: Array<Promise<Answer>> = [];
    const started = performance.now();
    for (let i = 0; i < singles; i++) {
      sent.push(post(listener.webhookUrl, single()));
      await sleep(Math.max(0, started + (i + 1) * singleEveryMs - performance.now()));
    }
    const answers = await Promise.all(sent);
    bursting = false;
    await burst;
    slowdown.stop();
    const times = answers.map((a) => a.ms);
    const factor = Math.max(1, percentile(slowdown.readings, 90));
    const p99Limit = p99BoundMs * factor;
    const maxLimit = maxBoundMs * factor;
    const batchStatuses = [...new Set(batches.map((b) => b.status))];
    console.log(
      `[large batches sqlite/inbox] ${batches.length} deliveries of ${eventsPerBatch} events from ${bursters} senders ` +
        `(statuses ${batchStatuses.join(',')}; ${figures(batches.map((b) => b.ms))}) over ` +
        `${((performance.now() - started) / 1000).toFixed(1)} s; ${answers.length} single PAID deliveries ` +
        `(statuses ${[...new Set(answers.map((a) => a.status))].join(',')}): ${figures(times)}; ` +
        `machine slowdown (wall/CPU of a probe) median ${percentile(slowdown.readings, 50).toFixed(2)}, p90 ${factor.toFixed(2)} ` +
        `over ${slowdown.readings.length} readings; bounds p99 ${p99Limit.toFixed(0)} ms, max ${maxLimit.toFixed(0)} ms`,
    );

    // A large batch is stored whole (200) or, while the inbox's commit queue is full, refused
    // whole (503, for Clik2pay to retry): never anything else.
    expect(batchStatuses.filter((status) => status !== 200 && status !== 503)).toEqual([]);
    expect(batches.filter((b) => b.status === 200).length).toBeGreaterThan(0);
    expect(answers.map((a) => a.status).every((s) => s === 200)).toBe(true);
    expect(percentile(times, 99)).toBeLessThan(p99Limit);
    expect(Math.max(...times)).toBeLessThan(maxLimit);
  }, 300_000);
});
