import { isC2pApiError } from './api-error.js';
import type { ReadPacer } from './read-pacer.js';
import { createReadPacer, sleep } from './read-pacer.js';
import type {
  ExpectedPayment,
  ReconcileCounts,
  ReconcileReport,
  ReconcilerOptions,
  ResolvedReconcilerOptions,
} from './reconciler-options.js';
import { reconcileOutcomes, resolveReconcilerOptions } from './reconciler-options.js';

/** A reconciler: passes over the expected payments, on demand or on a timer. */
export interface Reconciler {
  /**
   * One pass now: every expected payment unsettled for `afterMs` is read (paced
   * and bounded; one reported unchanged before waits out its `maxRereadMs`
   * backoff) and, when the API reports a status not yet seen, its event is
   * submitted. Answers the pass's counts. A pass already running is joined, not doubled.
   */
  runOnce(): Promise<ReconcileCounts>;
  /** Runs a pass at once, then `everyMs` after the end of each, until {@link Reconciler.stop}. */
  start(): void;
  /** The counts of every pass so far. */
  totals(): ReconcileCounts;
  /** Aborts the waits and reads in flight, and resolves once the running pass has ended. */
  stop(): Promise<void>;
}

const zeroCounts = (): ReconcileCounts =>
  Object.fromEntries(reconcileOutcomes.map((outcome) => [outcome, 0])) as ReconcileCounts;

/**
 * Creates a reconciler: it closes the gap webhooks leave (a listener down
 * through all three of Clik2pay's attempts, a delivery never sent) by asking
 * the API. For each expected payment still unsettled after `afterMs`, it reads
 * the payment request and, when the API reports a status not yet seen, hands
 * `submit` the event a webhook would have carried. `submit` stores it with the
 * same idempotency key a webhook gets, so a late webhook is a duplicate and the
 * order is fulfilled once, whichever comes first. Reads are bounded
 * (`concurrency`) and paced (`readsPerSecond`); several reconcilers on one
 * intake are harmless (their events deduplicate), they only read more.
 *
 * @example
 * ```ts
 * const reconciler = createReconciler({
 *   client: createClik2payClient({ username, password, apiKey }),
 *   expected: ({ before }) => orders.awaitingPayment(before), // ids still unsettled
 *   submit: (event) => intake.submit(event), // 'accepted' | 'duplicate', keyed as a webhook
 *   onOutcome: ({ id, outcome }) => console.log(id, outcome),
 * });
 * reconciler.start();
 * // on shutdown:
 * await reconciler.stop();
 * ```
 */
export function createReconciler(options: ReconcilerOptions): Reconciler {
  const resolved = resolveReconcilerOptions(options);
  const pacer = createReadPacer(resolved.readsPerSecond);
  const stopping = new AbortController();
  const totals = zeroCounts();
  const rereads = new Rereads(resolved);
  let running: Promise<ReconcileCounts> | undefined;
  let loop: Promise<void> | undefined;

  const runOnce = (): Promise<ReconcileCounts> => {
    running ??= runPass(resolved, pacer, rereads, stopping.signal).then((counts) => {
      for (const outcome of reconcileOutcomes) totals[outcome] += counts[outcome];
      running = undefined;
      return counts;
    });
    return running;
  };
  return {
    runOnce,
    start() {
      if (loop !== undefined || stopping.signal.aborted) return;
      loop = (async () => {
        while (!stopping.signal.aborted) {
          await runOnce();
          await sleep(resolved.everyMs, stopping.signal).catch(() => undefined);
        }
      })();
    },
    totals: () => ({ ...totals }),
    async stop() {
      stopping.abort(new Error('the reconciler stopped'));
      await Promise.all([loop, running]);
    },
  };
}

/**
 * When each payment the API reported unchanged may be read again: its wait
 * doubles from `everyMs` up to `maxRereadMs` with each unchanged read. Holds
 * only payments still expected (pruned at every pass).
 */
class Rereads {
  private readonly held = new Map<string, { waitMs: number; nextAt: number }>();

  constructor(private readonly options: ResolvedReconcilerOptions) {}

  /** The payments of this pass: those due, in their order; forgets the ones no longer expected. */
  due(expected: readonly ExpectedPayment[]): ExpectedPayment[] {
    const ids = new Set(expected.map((item) => item.id));
    for (const id of this.held.keys()) if (!ids.has(id)) this.held.delete(id);
    const now = this.options.now();
    return expected.filter((item) => (this.held.get(item.id)?.nextAt ?? 0) <= now);
  }

  noted(report: ReconcileReport): void {
    const { everyMs, maxRereadMs, now } = this.options;
    if (report.outcome !== 'unchanged' && report.outcome !== 'not-found') {
      this.held.delete(report.id);
      return;
    }
    const last = this.held.get(report.id);
    const waitMs = Math.min(last === undefined ? everyMs : last.waitMs * 2, maxRereadMs);
    this.held.set(report.id, { waitMs, nextAt: now() + waitMs });
  }
}

/** One pass: the expected payments that are due, read by `concurrency` lanes sharing the pacer. */
async function runPass(
  options: ResolvedReconcilerOptions,
  pacer: ReadPacer,
  rereads: Rereads,
  signal: AbortSignal,
): Promise<ReconcileCounts> {
  const counts = zeroCounts();
  let expected: readonly (string | ExpectedPayment)[];
  try {
    expected = await options.expected({ before: options.now() - options.afterMs, signal });
  } catch (error) {
    if (!signal.aborted) options.onError?.(error);
    return counts;
  }
  const queue = rereads.due(
    expected.map((item) => (typeof item === 'string' ? { id: item } : item)),
  );
  let next = 0;
  const lane = async (): Promise<void> => {
    for (let item = queue[next++]; item !== undefined; item = queue[next++]) {
      const waited = await pacer.wait(signal).then(
        () => true,
        () => false,
      );
      const report = waited ? await reconcileOne(item, options, signal) : undefined;
      if (report === undefined) return;
      counts[report.outcome] += 1;
      rereads.noted(report);
      try {
        options.onOutcome(report);
      } catch {
        // A throwing report hook must not end the pass.
      }
    }
  };
  await Promise.all(Array.from({ length: Math.min(options.concurrency, queue.length) }, lane));
  return counts;
}

/** Reads one payment request and submits its event if needed; `undefined` when stopped. */
async function reconcileOne(
  item: ExpectedPayment,
  options: ResolvedReconcilerOptions,
  signal: AbortSignal,
): Promise<ReconcileReport | undefined> {
  const { id } = item;
  let request: Awaited<ReturnType<ResolvedReconcilerOptions['client']['getPaymentRequest']>>;
  try {
    request = await options.client.getPaymentRequest(id, { signal });
  } catch (error) {
    if (signal.aborted) return undefined;
    return isC2pApiError(error, 'NOT_FOUND')
      ? { id, outcome: 'not-found' }
      : { id, outcome: 'error', error };
  }
  const { status } = request;
  const event = options.eventFor(request);
  const seen = item.seenStatus?.toUpperCase();
  if (event === undefined || seen === event.resource.status.toUpperCase()) {
    return { id, outcome: 'unchanged', status };
  }
  const { eventType } = event;
  try {
    const answer = await options.submit(event);
    if (answer !== 'accepted' && answer !== 'duplicate') {
      throw new Error(`submit answered ${String(answer)}, not accepted or duplicate`);
    }
    return { id, outcome: answer === 'accepted' ? 'enqueued' : 'duplicate', status, eventType };
  } catch (error) {
    return { id, outcome: 'error', status, eventType, error };
  }
}
