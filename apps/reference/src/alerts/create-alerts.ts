import { randomUUID } from 'node:crypto';
import type { Logger } from 'pino';

/** One alert: `alert` names it (`dead`, `backlog`, `recovered`, `verify-failed`), `text` is a sentence for people. */
export interface Alert {
  alert: string;
  /** Human-readable: Slack and Teams incoming webhooks show it as the message. */
  text: string;
  [field: string]: unknown;
}

/** Sends alerts to `C2P_ALERT_URL`. */
export interface Alerts {
  /** Queues the alert and returns at once: never blocks, never throws. */
  send(alert: Alert): void;
  /** Waits (at most `closeTimeoutMs`) for queued alerts to be sent, then stops. */
  close(): Promise<void>;
}

export interface AlertsOptions {
  /** `C2P_ALERT_URL`; `undefined`: alerts are only logged. */
  url: string | undefined;
  log: Pick<Logger, 'warn' | 'error' | 'info'>;
  /** Called for each alert raised, e.g. to count it. */
  onAlert?: (alert: Alert) => void;
  /** The first retry's delay, doubled after each failure up to 60 s. Defaults to `1000`. */
  retryBaseMs?: number;
  /** Attempts per alert before it is dropped (and logged). Defaults to `10`. */
  maxAttempts?: number;
  /** How long one POST may take. Defaults to `10000`. */
  timeoutMs?: number;
  /** How long `close()` waits for the queue. Defaults to `5000`. */
  closeTimeoutMs?: number;
}

const maxDelayMs = 60_000;

/**
 * Alerts as JSON `POST`s, one at a time in the order raised, each carrying an
 * `id` (also its `Idempotency-Key` header). An alert is retried with backoff
 * while the receiver fails (non-2xx, no answer) and never sent again once it
 * answered 2xx; after `maxAttempts` it is dropped and logged. The worker only
 * queues: a slow or failing receiver never holds it up.
 */
export function createAlerts(options: AlertsOptions): Alerts {
  const { url, log } = options;
  const retryBaseMs = options.retryBaseMs ?? 1_000;
  const maxAttempts = options.maxAttempts ?? 10;
  const timeoutMs = options.timeoutMs ?? 10_000;
  const queue: Array<Alert & { id: string }> = [];
  let running: Promise<void> | undefined;
  let closing = false;
  let wakeSleep: (() => void) | undefined;
  const sleep = (ms: number) =>
    new Promise<void>((resolve) => {
      const timer = setTimeout(resolve, ms);
      wakeSleep = () => {
        clearTimeout(timer);
        resolve();
      };
    });

  const post = async (alert: Alert & { id: string }): Promise<string | undefined> => {
    try {
      const response = await fetch(url as string, {
        method: 'POST',
        headers: { 'content-type': 'application/json', 'idempotency-key': alert.id },
        body: JSON.stringify(alert),
        signal: AbortSignal.timeout(timeoutMs),
      });
      await response.arrayBuffer();
      return response.ok ? undefined : `answered ${response.status}`;
    } catch (error) {
      return error instanceof Error ? error.message : String(error);
    }
  };

  const drain = async (): Promise<void> => {
    for (let alert = queue[0]; alert !== undefined; alert = queue[0]) {
      if (closing) {
        log.error({ alerts: queue.map((a) => a.alert) }, 'alerts not sent before the app stopped');
        queue.length = 0;
        break;
      }
      for (let attempt = 1; ; attempt += 1) {
        const failure = await post(alert);
        if (failure === undefined) break;
        if (attempt >= maxAttempts || closing) {
          log.error(
            { alert: alert.alert, id: alert.id, attempts: attempt, failure },
            'alert dropped',
          );
          break;
        }
        log.warn(
          { alert: alert.alert, id: alert.id, attempt, failure },
          'alert not delivered; retrying',
        );
        await sleep(Math.min(retryBaseMs * 2 ** (attempt - 1), maxDelayMs));
      }
      queue.shift();
    }
    running = undefined;
  };

  return {
    send(alert) {
      const queued = { ...alert, id: randomUUID() };
      log.warn({ alert: alert.alert, id: queued.id }, alert.text);
      try {
        options.onAlert?.(alert);
      } catch {
        // Counting must not stop an alert.
      }
      if (url === undefined || closing) return;
      queue.push(queued);
      running ??= drain();
    },
    async close() {
      if (!running) return;
      const timeout = new Promise<void>((resolve) =>
        setTimeout(resolve, options.closeTimeoutMs ?? 5_000).unref(),
      );
      await Promise.race([running, timeout]);
      closing = true;
      wakeSleep?.();
    },
  };
}
