import {
  type Clik2payClient,
  createClik2payClient,
  createPipelineSubmit,
  createReconciler,
  type ReconcileReport,
  type Reconciler,
  type SubmitPipeline,
} from '@c2p/api';
import type { Logger } from 'pino';
import type { ApiConfig, Config } from './config.js';

/** The client of the Payment Requests API the settings describe. */
export function createApiClient(api: ApiConfig): Clik2payClient {
  return createClik2payClient({
    username: api.username,
    password: api.password,
    apiKey: api.apiKey,
    ...(api.environment === undefined ? {} : { environment: api.environment }),
    ...(api.baseUrl === undefined ? {} : { baseUrl: api.baseUrl }),
    ...(api.tokenUrl === undefined ? {} : { tokenUrl: api.tokenUrl }),
  });
}

/** Where a page of unsettled expected payments resumes. */
interface UnsettledCursor {
  updatedAt: string;
  id: string;
}

/** What the reconciler reads of the order book: expected payments still unsettled. */
export interface UnsettledOrders {
  listUnsettled(query: {
    changedBefore: Date;
    limit: number;
    after?: UnsettledCursor | undefined;
  }): Promise<{ orders: readonly { id: string }[]; next: UnsettledCursor | null }>;
}

/** At most this many expected payments are read per pass; the oldest change first. */
export const maxReadsPerPass = 5_000;
const pageSize = 500;

/** The ids of expected payments unsettled since before `before`, page by page. */
export async function unsettledIds(orders: UnsettledOrders, before: Date): Promise<string[]> {
  const ids: string[] = [];
  let after: UnsettledCursor | undefined;
  do {
    const page = await orders.listUnsettled({ changedBefore: before, limit: pageSize, after });
    ids.push(...page.orders.map((order) => order.id));
    after = page.next ?? undefined;
  } while (after !== undefined && ids.length < maxReadsPerPass);
  return ids.slice(0, maxReadsPerPass);
}

/** What {@link startReconciler} wires together. */
export interface ReconcilerWiring {
  client: Clik2payClient;
  config: Pick<Config, 'reconcile' | 'credentials'>;
  orders: UnsettledOrders;
  /** A pipeline on the app's inbox (or sync store and handlers) that allows 127.0.0.1. */
  pipeline: SubmitPipeline;
  logger: Logger;
  /** Each read's outcome, for metrics (`c2p_reconcile_total{outcome}`). */
  onReconcile?: (report: ReconcileReport) => void;
}

/**
 * Starts the reconciler: every `C2P_RECONCILE_EVERY_S`, the expected payments
 * unsettled for `C2P_RECONCILE_AFTER_S` are read from the API, and an event a
 * webhook missed goes through the app's own pipeline with the webhook's key.
 */
export function startReconciler(wiring: ReconcilerWiring): Reconciler {
  const { client, config, orders, pipeline, logger } = wiring;
  const log = logger.child({ reconciler: true });
  const reconciler = createReconciler({
    client,
    expected: ({ before }) => unsettledIds(orders, new Date(before)),
    submit: createPipelineSubmit({ pipeline, credentials: config.credentials }),
    afterMs: config.reconcile.afterMs,
    everyMs: config.reconcile.everyMs,
    onOutcome: (report) => {
      wiring.onReconcile?.(report);
      const { id, outcome, status, eventType, error } = report;
      const line = { paymentRequestId: id, outcome, status, eventType };
      if (outcome === 'error') log.warn({ ...line, err: error }, 'reconcile');
      else if (outcome === 'unchanged') log.debug(line, 'reconcile');
      else log.info(line, 'reconcile');
    },
    onError: (error) => log.error({ err: error }, 'reconcile: the order book could not be read'),
  });
  reconciler.start();
  return reconciler;
}
