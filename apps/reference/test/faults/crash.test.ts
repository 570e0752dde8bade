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
 * claimed, a 500, a 503), not the schedule's.
 *
 * The budget is work, not time: each run makes its kills however long a loaded
 * machine takes (the test's timeout only guards against a hang, and grows with
 * the kills). A restart of 3 s or more (a loaded machine) may leave a delivery
 * whose three attempts all met the listener dead (refused, or cut by the kill):
 * no receiver can take that one, so it is set apart, counted and printed, and
 * its order is held only to "never fulfilled twice". Only such deliveries are:
 * one with an attempt that met a live listener, or with an answer, counts in full.
 * A run whose verdict rests on fewer than two orders per kill proves too little
 * and fails saying so.
 */
import type { DeliveryAttempt } from '@c2p/testing';
import { afterAll, describe, expect, it } from 'vitest';
import { serviceUrl, tempDir } from '../support/reference.js';
import {
  createDatabase,
  type Downstream,
  type Expectation,
  inboxCounts,
  ms,
  type OrderView,
  percentile,
  requireInbox,
  type Supervisor,
  settleOrders,
  sleep,
  startDownstream,
  supervise,
} from './support/faults.js';
import {
  createTally,
  describeOutcomes,
  outcomeOf,
  runStream,
  type StreamTally,
} from './support/stream.js';

/** SIGKILLs per run: four runs make the 200 the issue asks for. */
const killsPerRun = Number(process.env.C2P_FAULT_KILLS ?? 50);
/** The next life's length, from the restart that began it: see above. */
const nextUptimeMs = (lastRestartMs: number): number =>
  (lastRestartMs < 800 ? 1_500 : 2_500) + Math.random() * 1_000;
const ordersPerSecond = 4;
/**
 * A guard against a hang, not a budget: the longest life (3.5 s), plus 20 s for
 * a restart on a loaded machine, per kill; then 600 s to start, drain (its stall
 * limit is 330 s) and read. (A restart not ready in 60 s fails by itself.)
 */
const testTimeoutMs = killsPerRun * 23_500 + 600_000;
/**
 * The work the verdict must rest on: orders whose deciding delivery reached a
 * live listener, per kill. A life of 1.5 s or more at 4 orders a second gives
 * about ten; fewer than this means the run proved too little.
 */
const minHeldPerKill = 2;

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
            while (listener.stats().kills < killsPerRun) {
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

          const { uptimesMs, downtimesMs, deadSpells, kills } = listener.stats();
          const apart = setApart(tally, deadSpells);
          const held = new Map([...tally.orders].filter(([id]) => !apart.orders.has(id)));
          // Sync mode has nothing left to do; the inbox drains on its own, as long as it takes.
          const drainMs = mode === 'inbox' ? await drainInbox(listener.adminUrl) : 0;
          const views = await settleOrders(listener.adminUrl, held, 2_000);
          for (const [id, view] of await settleOrders(listener.adminUrl, apart.expected, 0)) {
            views.set(id, view);
          }
          const inbox = mode === 'inbox' ? await inboxCounts(listener.adminUrl) : undefined;
          const verdict = judge(held, tally.orders, views, downstream);
          const failedAllThree = tally.failedAllThree.length - apart.deliveries;
          console.log(
            [
              `[crash ${name}] kills ${kills}, deliveries ${tally.deliveries} (${tally.orders.size} orders, ${verdict.paidOrders} paid), ` +
                `lost ${verdict.counts.lost}, doubled ${verdict.counts.doubled}, failed-all-three-attempts ${failedAllThree}, ` +
                `FAILED orders not failed ${verdict.counts.notFailed}; set apart: ${apart.deliveries} deliveries that met ` +
                `the listener dead at every attempt (${apart.orders.size} orders held only to one fulfilment at most)`,
              `[crash ${name}] attempts ${tally.attempts}: ${describeOutcomes(tally.outcomes)}`,
              `[crash ${name}] uptime min ${ms(Math.min(...uptimesMs))} p50 ${ms(percentile(uptimesMs, 50))}; ` +
                `downtime (kill to ready) p50 ${ms(percentile(downtimesMs, 50))} max ${ms(Math.max(...downtimesMs))}; ` +
                `stream ${(streamMs / 1000).toFixed(1)} s` +
                (mode === 'inbox' ? `; inbox drained in ${(drainMs / 1000).toFixed(1)} s` : ''),
              `[crash ${name}] downstream calls ${downstream.calls.length} for ${verdict.calledOrders} orders ` +
                `(repeats of a key ${downstream.calls.length - verdict.calledOrders}), orders with other than one key ${verdict.counts.keysOff}` +
                (inbox ? `; inbox ${JSON.stringify(inbox)}` : ''),
              ...tally.failedAllThree
                .slice(0, 5)
                .map(
                  (f) =>
                    `[crash ${name}] failed all three: ${f.orderId} ${f.attempts.map((a) => a.status ?? a.error).join(' / ')}` +
                    ` ${f.attempts[f.attempts.length - 1]?.responseBody ?? ''}`,
                ),
              ...verdict.wrong.slice(0, 5).map((w) => `[crash ${name}] wrong: ${w}`),
            ].join('\n'),
          );

          if (held.size < minHeldPerKill * kills) {
            throw new Error(
              `[crash ${name}] only ${held.size} orders reached the listener with what decides them, ` +
                `fewer than ${minHeldPerKill} per kill: too little for the run to prove anything`,
            );
          }
          expect({ ...verdict.counts, failedAllThree }).toEqual({
            lost: 0,
            doubled: 0,
            failedAllThree: 0,
            notFailed: 0,
            keysOff: 0,
            unheard: 0,
          });
          if (inbox) expect(inbox.dead ?? 0).toBe(0);
        },
        testTimeoutMs,
      );
    }
  });
}

/**
 * Waits while the inbox drains: until nothing is pending or retrying, or nothing
 * more was processed for 330 s (longer than the worker's breaker stays open, 5
 * min at most). A budget in work: a loaded machine drains slower, not wrongly.
 */
async function drainInbox(adminUrl: string): Promise<number> {
  const began = performance.now();
  let processed = -1;
  let progressAt = began;
  for (;;) {
    const counts = (await inboxCounts(adminUrl)) ?? {};
    if ((counts.pending ?? 0) + (counts.retrying ?? 0) === 0) break;
    if ((counts.processed ?? 0) !== processed) {
      processed = counts.processed ?? 0;
      progressAt = performance.now();
    } else if (performance.now() - progressAt > 330_000) break;
    await sleep(1_000);
  }
  return performance.now() - began;
}

/** Clock slack when placing an attempt in a dead spell (two processes' clocks, timer lag). */
const slackMs = 250;

/**
 * The deliveries no receiver could take: each attempt got no answer and met the
 * listener dead (refused within a spell from a SIGKILL to the next `ready`, or
 * cut as one began), and
 * the orders that had only such deliveries of what decides them (their PAID, or
 * their FAILED): what each of those orders may be is then unknown.
 */
function setApart(
  tally: StreamTally,
  deadSpells: ReadonlyArray<{ from: number; to: number }>,
): { deliveries: number; orders: Set<string>; expected: Map<string, Expectation> } {
  // Refused: it began while no process listened. Cut: it ended as a process died or
  // before the next was ready. A timeout, or any answer, met a live listener.
  const metDead = (attempt: DeliveryAttempt): boolean => {
    const outcome = outcomeOf(attempt);
    if (outcome !== 'refused' && outcome !== 'cut') return false;
    const start = Date.parse(attempt.startedAt);
    const at = outcome === 'refused' ? start : start + attempt.durationMs;
    return deadSpells.some((spell) => at >= spell.from - slackMs && at <= spell.to + slackMs);
  };
  let deliveries = 0;
  const decided = new Set<string>();
  const undecided = new Set<string>();
  for (const { orderId, pays, body, result } of tally.results) {
    const unreachable = !result.delivered && result.attempts.every(metDead);
    if (unreachable) deliveries++;
    // What decides an order: its PAID for a paid order, its FAILED for a failed one.
    const decides = tally.orders.get(orderId) === 'paid' ? pays : carriesFailed(body);
    if (!decides) continue;
    if (unreachable) undecided.add(orderId);
    else decided.add(orderId);
  }
  const orders = new Set([...undecided].filter((id) => !decided.has(id)));
  const expected = new Map([...tally.orders].filter(([id]) => orders.has(id)));
  return { deliveries, orders, expected };
}

const carriesFailed = (body: unknown): boolean =>
  Array.isArray(body) &&
  body.some((event: { eventType?: unknown }) => event.eventType === 'PAYMENT-FAILED');

/** Each order against what it should be; orders not `held` only to "never fulfilled twice". */
function judge(
  held: ReadonlyMap<string, Expectation>,
  all: ReadonlyMap<string, Expectation>,
  views: ReadonlyMap<string, OrderView | undefined>,
  downstream: Downstream,
) {
  const counts = { lost: 0, doubled: 0, notFailed: 0, keysOff: 0, unheard: 0 };
  let paidOrders = 0;
  const wrong: string[] = [];
  const byOrder = downstream.byOrder();
  for (const id of all.keys()) {
    const view = views.get(id);
    const fulfilments = view?.fulfilments ?? 0;
    if (fulfilments > 1) counts.doubled++;
    // The order system hears of each paid order under one key (repeats of it are allowed).
    const calls = byOrder.get(id);
    if (calls && calls.keys.size !== 1) counts.keysOff++;
    const want = held.get(id);
    if (want === undefined) continue;
    if (want === 'paid') {
      paidOrders++;
      if (fulfilments === 0 || view?.state !== 'paid') counts.lost++;
      if (fulfilments === 1 && !calls) counts.unheard++;
    } else if (view?.state !== 'failed' || fulfilments !== 0) {
      counts.notFailed++;
    }
    const right =
      want === 'paid'
        ? view?.state === 'paid' && fulfilments === 1
        : view?.state === 'failed' && fulfilments === 0;
    if (!right) wrong.push(`${id}: ${view ? `${view.state}, fulfilments ${fulfilments}` : '404'}`);
  }
  return { counts, paidOrders, wrong, calledOrders: byOrder.size };
}
