/**
 * The crash proof of issue 10: a real listener (`node dist/main.js`, one
 * adapter, settings by env) SIGKILLed at random moments while the simulator
 * sends a stream of PAID, FAILED and duplicate events with Clik2pay's three
 * attempts 1 s and 2 s apart; restarted at once each time; nobody resends by
 * hand. In the end every order that was sent a PAID is fulfilled exactly once
 * and every FAILED-only order is failed.
 *
 * How long each life lasts is chosen so that Clik2pay can always reach a live
 * listener. A delivery's attempts come 1 s and then 2 s apart, and an attempt
 * fails when it meets a dead spell (from a SIGKILL to the next `ready`, plus the
 * moment a request is cut). After a restart that took under 0.8 s, that dead
 * spell cannot hold two attempts, and a life of 1.5 to 2.5 s (uniformly random)
 * keeps the next one more than 1 s (plus an attempt's own duration) away, so two
 * consecutive attempts never both fail. After a slower restart (under 3 s) the
 * dead spell may hold the first two attempts, and a life of 2.5 to 3.5 s keeps
 * the third away from the next one. Either way a delivery that fails all three
 * attempts is the listener's fault (a 409 for a key a killed process left
 * claimed, a 500, a 503), not the schedule's. A restart of 3 s or more (a
 * machine too loaded) fails the test saying so.
 */
import { afterAll, describe, expect, it } from 'vitest';
import { serviceUrl, tempDir } from '../support/reference.js';
import {
  createDatabase,
  type Downstream,
  inboxCounts,
  ms,
  percentile,
  requireInbox,
  type Supervisor,
  settleOrders,
  sleep,
  startDownstream,
  supervise,
} from './support/faults.js';
import { createTally, describeOutcomes, runStream } from './support/stream.js';

/** SIGKILLs per run: four runs make the 200 the issue asks for. */
const killsPerRun = Number(process.env.C2P_FAULT_KILLS ?? 50);
/** The next life's length, from the restart that began it: see above. */
const nextUptimeMs = (lastRestartMs: number): number =>
  (lastRestartMs < 800 ? 1_500 : 2_500) + Math.random() * 1_000;
const ordersPerSecond = 4;
/** The kills must be done within this; the whole test within it plus 100 s. */
const killBudgetMs = 200_000;

type Mode = 'sync' | 'inbox';
type StoreName = 'sqlite' | 'postgres';

interface Run {
  store: StoreName;
  mode: Mode;
  adapter: 'express' | 'fastify' | 'hono';
}

/**
 * Two pairs, one pair after the other; the two runs of a pair at once. Four at
 * once would be quicker, but four listeners restarting together on two cores
 * slow every restart past what Clik2pay's retries allow.
 */
const pairs: Array<[Run, Run]> = [
  [
    { store: 'sqlite', mode: 'sync', adapter: 'express' },
    { store: 'postgres', mode: 'inbox', adapter: 'hono' },
  ],
  [
    { store: 'sqlite', mode: 'inbox', adapter: 'hono' },
    { store: 'postgres', mode: 'sync', adapter: 'fastify' },
  ],
];

const cleanups: Array<() => Promise<void> | void> = [];
afterAll(async () => {
  for (const cleanup of cleanups.reverse()) await cleanup();
});

async function storeEnv(store: StoreName): Promise<string> {
  if (store === 'sqlite') {
    const dir = tempDir();
    cleanups.push(dir.remove);
    return `sqlite:${dir.path}/reference.db`;
  }
  const database = await createDatabase(serviceUrl('C2P_TEST_POSTGRES_URL'));
  cleanups.push(database.drop);
  return database.url;
}

for (const [index, pair] of pairs.entries()) {
  describe(`SIGKILL at random moments while Clik2pay delivers (pair ${index + 1} of 2)`, () => {
    for (const { store, mode, adapter } of pair) {
      it.concurrent(
        `${store} store, ${mode} mode: every PAID order fulfilled exactly once, every FAILED order failed`,
        async () => {
          const name = `${store}/${mode}`;
          const downstream: Downstream = await startDownstream();
          cleanups.push(downstream.close);
          // An order system that takes 100 ms, as a real one might: kills land inside handlers often.
          downstream.delayMs = 100;
          const listener: Supervisor = await supervise({
            adapter,
            env: {
              C2P_STORE: await storeEnv(store),
              C2P_MODE: mode,
              C2P_FULFIL_URL: downstream.url,
            },
          });
          cleanups.push(async () => {
            await listener.stop();
          });
          if (mode === 'inbox') await requireInbox(listener.adminUrl);

          const tally = createTally();
          let killing = true;
          const started = performance.now();
          const killer = (async () => {
            while (
              listener.stats().kills < killsPerRun &&
              performance.now() - started < killBudgetMs
            ) {
              await sleep(nextUptimeMs(listener.stats().downtimesMs.at(-1) ?? 0));
              await listener.killAndRestart();
            }
            killing = false;
          })();
          await Promise.all([
            killer,
            runStream({
              url: () => listener.webhookUrl,
              tally,
              ordersPerSecond,
              until: () => !killing,
            }),
          ]);
          const streamMs = performance.now() - started;
          const [crash] = listener.stats().crashes;
          if (crash) throw new Error(`[crash ${name}] the listener died by itself: ${crash}`);

          // Sync mode has nothing left to do; the inbox drains on its own.
          const views = await settleOrders(
            listener.adminUrl,
            tally.orders,
            mode === 'inbox' ? 60_000 : 2_000,
          );
          const inbox = mode === 'inbox' ? await inboxCounts(listener.adminUrl) : undefined;

          let paidOrders = 0;
          let lost = 0;
          let doubled = 0;
          let notFailed = 0;
          const wrong: string[] = [];
          for (const [id, expect] of tally.orders) {
            const view = views.get(id);
            const fulfilments = view?.fulfilments ?? 0;
            if (fulfilments > 1) doubled++;
            if (expect === 'paid') {
              paidOrders++;
              if (fulfilments === 0 || view?.state !== 'paid') lost++;
            } else if (view?.state !== 'failed' || fulfilments !== 0) {
              notFailed++;
            }
            if (
              (expect === 'paid' && (view?.state !== 'paid' || fulfilments !== 1)) ||
              (expect === 'failed' && (view?.state !== 'failed' || fulfilments !== 0))
            ) {
              wrong.push(
                `${id}: ${view ? `${view.state}, fulfilments ${view.fulfilments}` : '404'}`,
              );
            }
          }
          // The order system hears of each paid order under one key (repeats of it are allowed).
          let keysOff = 0;
          let unheard = 0;
          const byOrder = downstream.byOrder();
          for (const [id, expect] of tally.orders) {
            const calls = byOrder.get(id);
            if (calls && calls.keys.size !== 1) keysOff++;
            if (expect === 'paid' && views.get(id)?.fulfilments === 1 && !calls) unheard++;
          }
          const { uptimesMs, downtimesMs, kills } = listener.stats();
          // Deliveries that never met a live listener (every attempt refused or cut): only a
          // restart longer than Clik2pay's retry window (about 3 s) can cause those.
          const unreachable = tally.failedAllThree.filter((f) =>
            f.attempts.every((a) => a.status === null),
          ).length;
          const slowestRestart = Math.max(...downtimesMs);
          console.log(
            [
              `[crash ${name}] kills ${kills}, deliveries ${tally.deliveries} (${tally.orders.size} orders, ${paidOrders} paid), ` +
                `lost ${lost}, doubled ${doubled}, failed-all-three-attempts ${tally.failedAllThree.length}, ` +
                `FAILED orders not failed ${notFailed}` +
                (unreachable > 0
                  ? ` (${unreachable} of the failed deliveries never met a live listener)`
                  : ''),
              `[crash ${name}] attempts ${tally.attempts}: ${describeOutcomes(tally.outcomes)}`,
              `[crash ${name}] uptime min ${ms(Math.min(...uptimesMs))} p50 ${ms(percentile(uptimesMs, 50))}; ` +
                `downtime (kill to ready) p50 ${ms(percentile(downtimesMs, 50))} max ${ms(Math.max(...downtimesMs))}; ` +
                `stream ${(streamMs / 1000).toFixed(1)} s`,
              `[crash ${name}] downstream calls ${downstream.calls.length} for ${byOrder.size} orders ` +
                `(repeats of a key ${downstream.calls.length - byOrder.size}), orders with other than one key ${keysOff}` +
                (inbox ? `; inbox ${JSON.stringify(inbox)}` : ''),
              ...tally.failedAllThree
                .slice(0, 5)
                .map(
                  (f) =>
                    `[crash ${name}] failed all three: ${f.orderId} ${f.attempts.map((a) => a.status ?? a.error).join(' / ')}` +
                    ` ${f.attempts[f.attempts.length - 1]?.responseBody ?? ''}`,
                ),
              ...wrong.slice(0, 5).map((w) => `[crash ${name}] wrong: ${w}`),
            ].join('\n'),
          );

          if (kills < killsPerRun) {
            throw new Error(
              `[crash ${name}] only ${kills} of ${killsPerRun} kills within ${killBudgetMs / 1000} s: restarts are too slow on this machine (too loaded?)`,
            );
          }
          if (unreachable > 0 && slowestRestart >= 3_000) {
            throw new Error(
              `[crash ${name}] a restart took ${ms(slowestRestart)} on this machine (too loaded?): longer than Clik2pay's ` +
                `retry window, so ${unreachable} deliveries never met a live listener; no receiver can take those`,
            );
          }
          expect({
            lost,
            doubled,
            failedAllThree: tally.failedAllThree.length,
            notFailed,
            keysOff,
            unheard,
          }).toEqual({
            lost: 0,
            doubled: 0,
            failedAllThree: 0,
            notFailed: 0,
            keysOff: 0,
            unheard: 0,
          });
          if (inbox) expect(inbox.dead ?? 0).toBe(0);
        },
        killBudgetMs + 100_000,
      );
    }
  });
}
