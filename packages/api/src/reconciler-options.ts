import { invalidOption } from './api-error.js';
import type { CallOptions } from './create-clik2pay-client.js';
import type { ReconciledEvent } from './reconcile-event.js';
import { webhookEventFor } from './reconcile-event.js';
import type { PaymentRequest } from './schemas.js';

/** What the reconciler made of one expected payment request. */
export type ReconcileOutcome =
  /** The API reports nothing a webhook follows (`ACTIVE`, ...), or the status already seen. */
  | 'unchanged'
  /** Its event was submitted and taken as new: the webhook had been missed. */
  | 'enqueued'
  /** Its event was submitted and was already there: the webhook had arrived. */
  | 'duplicate'
  /** The API has no such payment request. */
  | 'not-found'
  /** The read or the submission failed; the next pass tries again. */
  | 'error';

/** Every {@link ReconcileOutcome}, for counters. */
export const reconcileOutcomes = [
  'unchanged',
  'enqueued',
  'duplicate',
  'not-found',
  'error',
] as const satisfies readonly ReconcileOutcome[];

/** Counts of outcomes, one per outcome. */
export type ReconcileCounts = Record<ReconcileOutcome, number>;

/** One expected payment: its payment request id, and the status already seen for it, if any. */
export interface ExpectedPayment {
  id: string;
  /** The status the merchant's side already holds (from a webhook), compared without case. */
  seenStatus?: string | null;
}

/** What {@link ReconcilerOptions.expected} is asked for. */
export interface ExpectedQuery {
  /** Payments registered (or last changed) before this time, in ms since the epoch. */
  before: number;
  signal: AbortSignal;
}

/** One read's report, for logs and metrics. */
export interface ReconcileReport {
  id: string;
  outcome: ReconcileOutcome;
  /** The status the API reported, when it answered. */
  status?: string;
  /** The submitted event's type, when one was submitted. */
  eventType?: string;
  /** Why, for `error`: a `C2pApiError` or what `submit` threw. */
  error?: unknown;
}

/** Options for {@link createReconciler}. */
export interface ReconcilerOptions {
  /** Reads one payment request: a {@link Clik2payClient} does. */
  client: {
    getPaymentRequest(id: string, options?: CallOptions): Promise<PaymentRequest>;
  };
  /**
   * The payment requests expected and still unsettled that were registered
   * (or last changed) before `query.before`. Called once per pass.
   */
  expected(query: ExpectedQuery): Promise<readonly (string | ExpectedPayment)[]>;
  /**
   * Puts an event into the same intake a webhook's goes through (an inbox, or
   * a sync pipeline), keyed as a webhook's is; answers whether it was new.
   * Throwing counts as `error`, retried at the next pass.
   */
  submit(event: ReconciledEvent): Promise<'accepted' | 'duplicate'>;
  /** How long a payment stays unsettled before it is read. Defaults to `300_000` ms. */
  afterMs?: number;
  /** The wait between the end of one pass and the start of the next. Defaults to `60_000` ms. */
  everyMs?: number;
  /**
   * The longest wait between two reads of one payment the API keeps reporting
   * unchanged (`ACTIVE`, or not found): each such read doubles its wait, from
   * `everyMs` up to this, so a payment request the payer never pays costs a
   * few reads an hour rather than one per pass. Its first read is never held
   * back, and a read that fails is tried again at the next pass. Kept in
   * memory: after a restart each payment is read once more at once. Defaults
   * to `3_600_000` (1 h); `0` reads every payment at every pass.
   */
  maxRereadMs?: number;
  /** Reads in flight at once. Defaults to `4`. */
  concurrency?: number;
  /** Reads started per second, at most: it never stampedes the API. Defaults to `5`. */
  readsPerSecond?: number;
  /** The event a webhook would have carried for a status. Defaults to {@link webhookEventFor}. */
  eventFor?: (request: PaymentRequest) => ReconciledEvent | undefined;
  /** Called once per expected payment read, with its outcome. */
  onOutcome?: (report: ReconcileReport) => void;
  /** Called when `expected` throws; the pass ends and the next one tries again. */
  onError?: (error: unknown) => void;
  /** The clock, in ms since the epoch. Defaults to `Date.now`. */
  now?: () => number;
}

/** The options, checked, every default filled in. */
export type ResolvedReconcilerOptions = Required<Omit<ReconcilerOptions, 'onError'>> &
  Pick<ReconcilerOptions, 'onError'>;

/** Checks every option, naming the first bad one: `[@c2p/api] options.concurrency: ...`. */
export function resolveReconcilerOptions(options: ReconcilerOptions): ResolvedReconcilerOptions {
  if (typeof options.client?.getPaymentRequest !== 'function') {
    throw invalidOption('options.client', 'has no getPaymentRequest function');
  }
  for (const name of ['expected', 'submit'] as const) {
    if (typeof options[name] !== 'function')
      throw invalidOption(`options.${name}`, 'is not a function');
  }
  const concurrency = options.concurrency ?? 4;
  if (!Number.isInteger(concurrency) || concurrency < 1) {
    throw invalidOption('options.concurrency', `${concurrency} is not a whole number >= 1`);
  }
  const readsPerSecond = options.readsPerSecond ?? 5;
  if (!(readsPerSecond > 0)) {
    throw invalidOption('options.readsPerSecond', `${readsPerSecond} is not a number > 0`);
  }
  return {
    ...options,
    afterMs: ms(options.afterMs ?? 300_000, 'options.afterMs'),
    everyMs: ms(options.everyMs ?? 60_000, 'options.everyMs'),
    maxRereadMs: ms(options.maxRereadMs ?? 3_600_000, 'options.maxRereadMs'),
    concurrency,
    readsPerSecond,
    eventFor: options.eventFor ?? webhookEventFor,
    onOutcome: options.onOutcome ?? (() => undefined),
    now: options.now ?? Date.now,
  };
}

function ms(value: number, path: string): number {
  if (!Number.isFinite(value) || value < 0) {
    throw invalidOption(path, `${value} is not a number of ms >= 0`);
  }
  return value;
}
