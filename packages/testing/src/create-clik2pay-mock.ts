import type { IncomingMessage } from 'node:http';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { createBasicAuthVerifier } from '@c2p/core';
import { createRouter } from './clik2pay-mock-routes.js';
import type {
  MockFault,
  MockPaymentRequest,
  MockSettlement,
  MockStats,
} from './clik2pay-mock-state.js';
import { Clik2payMockState } from './clik2pay-mock-state.js';
import { createBody } from './create-body.js';
import type { FactoryEvent } from './create-event.js';
import type { DeliveryResult } from './deliver.js';
import { deliver } from './deliver.js';
import { OptionError } from './option-error.js';

export type {
  MockFault,
  MockPaymentRequest,
  MockSettlement,
  MockStats,
} from './clik2pay-mock-state.js';

/** Options for {@link createClik2payMock}. */
export interface Clik2payMockOptions {
  /** The loopback port. `0` picks a free one. Defaults to `4000`. */
  port?: number;
  /** The API username the token endpoint accepts. Without it, any non-empty one. */
  apiUsername?: string;
  /** The API password the token endpoint accepts. Without it, any non-empty one. */
  apiPassword?: string;
  /** The `x-api-key` the API accepts. Without it, any non-empty one. */
  apiKey?: string;
  /** Tokens' `expires_in`, in seconds. Defaults to `3600`, as Clik2pay's. */
  tokenTtlS?: number;
  /** Where settling a payment request delivers its webhook. Without it, nothing is delivered. */
  webhookUrl?: string;
  /** The webhook's Basic user-id (`C2P_WEBHOOK_USERNAME` in the CLI). */
  webhookUsername?: string;
  /** The webhook's Basic password (`C2P_WEBHOOK_PASSWORD` in the CLI). */
  webhookPassword?: string;
  /** Settle without delivering any webhook, to exercise a reconciler. Defaults to `false`. */
  dropWebhooks?: boolean;
  /** The webhook's first retry wait, doubled after, as in `deliver`. Defaults to `1000` ms. */
  webhookBackoffMs?: number;
  /** Called with one line per request answered and per webhook attempt. */
  onLog?: (line: string) => void;
}

/** What became of settling a payment request through a control route. */
export interface MockSettleResult {
  /** The payment request after the change (a refund leaves it `PAID`). */
  paymentRequest: MockPaymentRequest;
  /** The event Clik2pay would send. */
  event: FactoryEvent;
  /** The webhook's delivery (three attempts), `'dropped'`, or `'no-webhook-url'`. */
  webhook: DeliveryResult | 'dropped' | 'no-webhook-url';
}

/** A running local Clik2pay. */
export interface Clik2payMock {
  /** `http://127.0.0.1:<port>`. */
  url: string;
  port: number;
  /** The API base for a client: `<url>/open/v1`. */
  baseUrl: string;
  /** The token endpoint: `<url>/oauth2/token`. */
  tokenUrl: string;
  /** Counts of token calls, API calls and faults answered. */
  stats(): MockStats;
  /** Switches on a fault for the next calls (also `POST /_mock/faults`). */
  fault(fault: MockFault): void;
  /** Every issued token stops working (also `POST /_mock/tokens/expire`). */
  expireTokens(): void;
  /**
   * As `POST /_mock/payment-requests/{id}/pay|fail|refund`; `{ conflict }` when it cannot
   * (`not-found`, or why: already settled, a refund of an unpaid request).
   */
  settle(
    id: string,
    action: MockSettlement,
    options?: { dropWebhook?: boolean },
  ): Promise<MockSettleResult | { conflict: string }>;
  close(): Promise<void>;
}

/**
 * Starts a local stand-in for Clik2pay on loopback (what `c2p mock` runs): the
 * token endpoint at `/oauth2/token`, `POST /open/v1/payment-requests`,
 * `GET /open/v1/payment-requests/{id}`, and control routes under `/_mock` that
 * settle a payment request and deliver its webhook the way Clik2pay does
 * (three attempts, Basic auth), or drop it; faults (429, 5xx) and token expiry
 * can be switched on to exercise clients.
 *
 * @example
 * ```ts
 * const mock = await createClik2payMock({ port: 0, webhookUrl: 'http://127.0.0.1:3001/webhooks/clik2pay' });
 * // point @c2p/api at mock.baseUrl and mock.tokenUrl, create a payment request, then:
 * await fetch(`${mock.url}/_mock/payment-requests/${id}/pay`, { method: 'POST' });
 * ```
 */
export async function createClik2payMock(options: Clik2payMockOptions = {}): Promise<Clik2payMock> {
  const settings = resolveMockOptions(options);
  const state = new Clik2payMockState();
  const log = options.onLog ?? (() => undefined);
  const settle = async (
    id: string,
    action: MockSettlement,
    control: { dropWebhook?: boolean } = {},
  ): Promise<MockSettleResult | { conflict: string }> => {
    const outcome = state.settle(id, action);
    if ('conflict' in outcome) return outcome;
    const { event } = outcome;
    const dropped = settings.dropWebhooks || control.dropWebhook === true;
    const webhook = dropped
      ? 'dropped'
      : settings.webhookUrl === undefined
        ? 'no-webhook-url'
        : await deliverWebhook(settings, event, log);
    if (typeof webhook === 'string')
      log(`webhook ${event.eventType} ${event.resource.id}: ${webhook}`);
    return { paymentRequest: state.get(id) as MockPaymentRequest, event, webhook };
  };
  const route = createRouter({ state, settings, settle });
  const server = createServer((req, res) => {
    void readRequest(req)
      .then((body) => route(req, body))
      .then(({ status, body, headers }) => {
        res.writeHead(status, { 'content-type': 'application/json', ...headers });
        res.end(JSON.stringify(body));
        log(`${req.method} ${req.url} ${status}`);
      })
      .catch(() => res.destroy());
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(settings.port, '127.0.0.1', () => resolve());
  });
  const { port } = server.address() as AddressInfo;
  const url = `http://127.0.0.1:${port}`;
  return {
    url,
    port,
    baseUrl: `${url}/open/v1`,
    tokenUrl: `${url}/oauth2/token`,
    stats: () => ({ ...state.stats }),
    fault: (fault) => state.addFault(fault),
    expireTokens: () => state.expireTokens(),
    settle,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

interface MockSettings extends Clik2payMockOptions {
  port: number;
  tokenTtlS: number;
  verifyBasic: (authorization: string | undefined) => boolean;
}

function resolveMockOptions(options: Clik2payMockOptions): MockSettings {
  const port = options.port ?? 4000;
  if (!Number.isInteger(port) || port < 0 || port > 65_535) {
    throw new OptionError('options.port', `${port} is not a port number`);
  }
  const tokenTtlS = options.tokenTtlS ?? 3600;
  if (!(tokenTtlS > 0) || !Number.isFinite(tokenTtlS)) {
    throw new OptionError('options.tokenTtlS', `${tokenTtlS} is not a number of seconds > 0`);
  }
  if (options.webhookUrl !== undefined && !URL.canParse(options.webhookUrl)) {
    throw new OptionError('options.webhookUrl', `"${options.webhookUrl}" is not a URL`);
  }
  const { apiUsername, apiPassword } = options;
  if (apiUsername !== undefined && (apiUsername === '' || apiUsername.includes(':'))) {
    throw new OptionError('options.apiUsername', 'must be non-empty, without ":" (RFC 7617)');
  }
  if (apiPassword === '') throw new OptionError('options.apiPassword', 'must be non-empty');
  const verifier =
    apiUsername === undefined && apiPassword === undefined
      ? undefined
      : createBasicAuthVerifier({
          credentials: { username: apiUsername ?? '', password: apiPassword ?? '' },
          optionPath: 'options.apiUsername',
        });
  return {
    ...options,
    port,
    tokenTtlS,
    verifyBasic: (authorization) =>
      verifier === undefined ? anyBasic(authorization) : verifier(authorization),
  };
}

/** Any well-formed Basic header with a non-empty user-id and password. */
function anyBasic(authorization: string | undefined): boolean {
  const match = /^basic +([A-Za-z0-9+/]+=*)$/i.exec(authorization ?? '');
  if (!match?.[1]) return false;
  const decoded = Buffer.from(match[1], 'base64').toString('utf8');
  const colon = decoded.indexOf(':');
  return colon > 0 && colon < decoded.length - 1;
}

async function deliverWebhook(
  settings: MockSettings,
  event: FactoryEvent,
  log: (line: string) => void,
): Promise<DeliveryResult> {
  return deliver({
    url: settings.webhookUrl as string,
    ...(settings.webhookUsername === undefined ? {} : { username: settings.webhookUsername }),
    ...(settings.webhookPassword === undefined ? {} : { password: settings.webhookPassword }),
    body: createBody(event),
    attempts: 3,
    ...(settings.webhookBackoffMs === undefined ? {} : { backoffMs: settings.webhookBackoffMs }),
    onAttempt: (report) =>
      log(
        `webhook ${event.eventType} ${event.resource.id}: attempt ${report.attempt} ${report.outcome}${report.status === null ? '' : ` ${report.status}`}`,
      ),
  });
}

function readRequest(req: IncomingMessage): Promise<string> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    req.on('data', (chunk: Buffer) => {
      size += chunk.length;
      if (size > 1024 * 1024) req.destroy(new Error('body over 1 MiB'));
      else chunks.push(chunk);
    });
    req.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
    req.on('error', reject);
  });
}
