/**
 * The merchant's order system takes 9 s per call. In inbox mode the 2xx means
 * "stored", so new deliveries must not wait behind those calls: p99 time to
 * 2xx under 100 ms, while the worker is busy calling the slow system.
 *
 * On a loaded machine every answer is slower, whatever the app does, so the
 * bound scales with the machine's measured speed: the same listener's
 * `GET /healthz` (a store ping, no inbox write), probed beside each delivery.
 * The p99 must stay under 100 ms or three times the probes' p99, whichever is
 * larger; and a delivery's time past its own probe's (sent at the same moment)
 * must stay under 4.5 s at p99, half a call: a delivery that waited behind one
 * call would take 9 s more than its probe, however slow the machine. (Beside
 * busy loops on a loaded machine the probes' p99 reached 1.1 to 3 s, and the
 * deliveries' p99 was within 0.2 s of it; at a load average of 25 on 2 cores, with
 * calls of 5 s, a delivery's time past its probe reached 3.5 s at p99, so a call
 * takes 9 s here, under the fulfilment timeout of 10 s, to keep "waited behind a
 * call" apart from "a slow machine".)
 */
import { createBody, createEvent, deliver } from '@c2p/testing';
import { afterAll, describe, expect, it } from 'vitest';
import { serviceUrl, tempDir } from '../support/reference.js';
import {
  createDatabase,
  credentials,
  percentile,
  requireInbox,
  sleep,
  startDownstream,
  supervise,
} from './support/faults.js';

const deliveries = 200;
const perSecond = 20;
const warmUp = 10;
/** The bound on an unloaded machine. */
const boundMs = 100;
/** Half of one call to the order system: the most a delivery may take past its probe. */
const excessMs = 4_500;

const cleanups: Array<() => Promise<void> | void> = [];
afterAll(async () => {
  for (const cleanup of cleanups.reverse()) await cleanup();
});

describe('acceptance while the order system takes 9 s per call (inbox mode)', () => {
  for (const store of ['sqlite', 'postgres'] as const) {
    it(`${store} store: p99 time to 2xx for new deliveries under 100 ms (on a loaded machine, 3x /healthz's), never a call's wait past /healthz`, async () => {
      let storeUrl: string;
      if (store === 'sqlite') {
        const dir = tempDir();
        cleanups.push(dir.remove);
        storeUrl = `sqlite:${dir.path}/reference.db`;
      } else {
        const database = await createDatabase(serviceUrl('C2P_TEST_POSTGRES_URL'));
        cleanups.push(database.drop);
        storeUrl = database.url;
      }
      const downstream = await startDownstream();
      cleanups.push(downstream.close);
      downstream.delayMs = 9_000;
      const listener = await supervise({
        adapter: 'fastify',
        env: { C2P_STORE: storeUrl, C2P_MODE: 'inbox', C2P_FULFIL_URL: downstream.url },
      });
      await requireInbox(listener.adminUrl);

      const send = async (): Promise<{ status: number | null; durationMs: number }> => {
        const result = await deliver({
          url: listener.webhookUrl,
          ...credentials,
          body: createBody(createEvent()),
          attempts: 1,
          timeoutMs: 10_000,
        });
        const attempt = result.attempts[0];
        return { status: attempt?.status ?? null, durationMs: attempt?.durationMs ?? Number.NaN };
      };
      const healthz = new URL('/healthz', listener.webhookUrl).href;
      const probe = async (): Promise<number> => {
        const began = performance.now();
        const response = await fetch(healthz);
        await response.arrayBuffer();
        if (response.status !== 200) throw new Error(`GET /healthz answered ${response.status}`);
        return performance.now() - began;
      };
      // A few first deliveries warm the process up (JIT, connections); they are not counted.
      for (let i = 0; i < warmUp; i++) {
        await send();
        await probe();
      }

      const results: Array<Promise<{ status: number | null; durationMs: number }>> = [];
      const probes: Array<Promise<number>> = [];
      const started = performance.now();
      for (let i = 0; i < deliveries; i++) {
        results.push(send());
        probes.push(probe());
        await sleep(Math.max(0, started + ((i + 1) * 1000) / perSecond - performance.now()));
      }
      const answers = await Promise.all(results);
      const probeTimes = await Promise.all(probes);
      const probeP99 = percentile(probeTimes, 99);
      const limit = Math.max(boundMs, 3 * probeP99);
      const excessP99 = percentile(
        answers.map((a, i) => a.durationMs - (probeTimes[i] ?? 0)),
        99,
      );
      const busy = downstream.received - downstream.calls.length;
      const times = answers.map((a) => a.durationMs);
      const statuses = new Set(answers.map((a) => a.status));
      const p50 = percentile(times, 50);
      const p99 = percentile(times, 99);
      console.log(
        `[slow order system ${store}/inbox] ${deliveries} new deliveries at ${perSecond}/s while each call takes 9 s: ` +
          `time to 2xx p50 ${p50.toFixed(1)} ms, p99 ${p99.toFixed(1)} ms, max ${Math.max(...times).toFixed(1)} ms; ` +
          `statuses ${[...statuses].join(',')}; order system calls received ${downstream.received}, ` +
          `of them still waiting on it at the end ${busy}; GET /healthz beside them p99 ${probeP99.toFixed(1)} ms, ` +
          `so the bound is ${limit.toFixed(1)} ms; p99 of a delivery's time past its probe's ${excessP99.toFixed(1)} ms`,
      );

      // Let the worker finish its slow calls before stopping, so the stop is clean.
      downstream.delayMs = 0;
      const stop = listener.stop();
      cleanups.push(async () => {
        await stop;
      });

      expect([...statuses]).toEqual([200]);
      // The worker really was held up by the order system while the deliveries came in.
      expect(downstream.received).toBeGreaterThan(0);
      expect(p99).toBeLessThan(limit);
      expect(excessP99).toBeLessThan(excessMs);
    }, 120_000);
  }
});
