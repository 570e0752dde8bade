import type { ApiErrorCode } from './api-error.js';
import { apiErrorCodes, C2pApiError } from './api-error.js';
import type { Clik2payClientOptions } from './resolve-client-options.js';
import { resolveClientOptions } from './resolve-client-options.js';
import type {
  CreatedPaymentRequest,
  CreatePaymentRequestInput,
  PaymentRequest,
} from './schemas.js';
import {
  createdPaymentRequestSchema,
  createPaymentRequestInputSchema,
  paymentRequestSchema,
} from './schemas.js';
import type { Answer } from './send-with-retries.js';
import { sendWithRetries } from './send-with-retries.js';
import type { TokenSource } from './token-source.js';
import { createTokenSource, parseJson } from './token-source.js';

/** Per-call options. */
export interface CallOptions {
  /** Aborts the call, its retries and its wait for a token (`ABORTED`). */
  signal?: AbortSignal;
}

/** A client of Clik2pay's Payment Requests API. */
export interface Clik2payClient {
  /** `POST {base}/payment-requests` (documented). Retried on 429 and 5xx, never on a timeout. */
  createPaymentRequest(
    input: CreatePaymentRequestInput,
    options?: CallOptions,
  ): Promise<CreatedPaymentRequest>;
  /** `GET {base}/payment-requests/{id}`: the path is an assumption (`paymentRequestPath`). */
  getPaymentRequest(id: string, options?: CallOptions): Promise<PaymentRequest>;
}

interface Call {
  method: 'GET' | 'POST';
  path: string;
  body?: string;
  idempotent: boolean;
  signal: AbortSignal | undefined;
}

/**
 * Creates a client of Clik2pay's Payment Requests API. Tokens are fetched with
 * the API username and password, cached, renewed before they expire (one token
 * call at a time), and renewed once when the API answers 401. Every call sends
 * `x-api-key` and `Authorization: Bearer`; a 429 or 5xx is retried with backoff
 * and jitter, never sooner than `Retry-After`. Answers are checked with zod.
 * Uses `fetch` only: Node 20+, Bun, Deno, Workers.
 *
 * @example
 * ```ts
 * const clik2pay = createClik2payClient({ username, password, apiKey, environment: 'sandbox' });
 * const { id } = await clik2pay.createPaymentRequest({
 *   amount: 25, merchantTransactionId: 'order-1001', type: 'ECOMM', deliveryMode: 'NONE', payer: { name: 'Ada' },
 * });
 * const request = await clik2pay.getPaymentRequest(id); // request.status: 'PAID', ...
 * ```
 */
export function createClik2payClient(options: Clik2payClientOptions): Clik2payClient {
  const resolved = resolveClientOptions(options);
  const { http, apiKey, baseUrl } = resolved;
  const tokens = createTokenSource(http, resolved);

  const call = async (spec: Call): Promise<Answer> => {
    const send = (token: string): Promise<Answer> =>
      sendWithRetries(http, {
        url: `${baseUrl}${spec.path}`,
        method: spec.method,
        headers: {
          authorization: `Bearer ${token}`,
          'x-api-key': apiKey,
          accept: 'application/json',
          ...(spec.body === undefined ? {} : { 'content-type': 'application/json' }),
        },
        ...(spec.body === undefined ? {} : { body: spec.body }),
        idempotent: spec.idempotent,
        signal: spec.signal,
      });
    return sendRenewingOnce(tokens, send, spec.signal);
  };

  return {
    async createPaymentRequest(input, callOptions = {}) {
      const checked = createPaymentRequestInputSchema.safeParse(input);
      if (!checked.success) throw invalidInput(checked.error.issues);
      const answer = await call({
        method: 'POST',
        path: '/payment-requests',
        body: JSON.stringify(checked.data),
        idempotent: false,
        signal: callOptions.signal,
      });
      return readAnswer(answer, createdPaymentRequestSchema);
    },
    async getPaymentRequest(id, callOptions = {}) {
      if (typeof id !== 'string' || id === '') {
        throw new C2pApiError('INVALID_INPUT', { message: 'id: is missing or empty' });
      }
      const answer = await call({
        method: 'GET',
        path: resolved.paymentRequestPath.replace('{id}', encodeURIComponent(id)),
        idempotent: true,
        signal: callOptions.signal,
      });
      return readAnswer(answer, paymentRequestSchema);
    },
  };
}

/** Sends with a token; on a 401, forgets that token and sends once more with a new one. */
async function sendRenewingOnce(
  tokens: TokenSource,
  send: (token: string) => Promise<Answer>,
  signal: AbortSignal | undefined,
): Promise<Answer> {
  const token = await tokens.get(signal);
  const answer = await send(token);
  if (answer.status !== 401) return answer;
  tokens.invalidate(token);
  return send(await tokens.get(signal));
}

interface Schema<T> {
  safeParse(value: unknown): { success: true; data: T } | { success: false };
}

function readAnswer<T>(answer: Answer, schema: Schema<T>): T {
  if (answer.status < 200 || answer.status > 299) throw answerError(answer);
  const parsed = schema.safeParse(parseJson(answer.text));
  if (!parsed.success) throw new C2pApiError('INVALID_RESPONSE', { status: answer.status });
  return parsed.data;
}

const statusCodes: Readonly<Record<number, ApiErrorCode>> = {
  401: 'UNAUTHORIZED',
  403: 'FORBIDDEN',
  404: 'NOT_FOUND',
  429: 'RATE_LIMITED',
};

function answerError(answer: Answer): C2pApiError {
  const { status, retryAfterMs } = answer;
  const code = statusCodes[status] ?? (status >= 500 ? 'SERVER_ERROR' : 'REJECTED');
  return new C2pApiError(code, {
    message: `${apiErrorCodes[code]} (HTTP ${status})`,
    status,
    ...(retryAfterMs === undefined ? {} : { retryAfterMs }),
  });
}

/** The input's problems by path (`amount: Too big: ...`), never its values. */
function invalidInput(
  issues: readonly { path: readonly PropertyKey[]; message: string }[],
): C2pApiError {
  const problems = issues.map(
    (issue) => `${issue.path.map(String).join('.') || 'input'}: ${issue.message}`,
  );
  return new C2pApiError('INVALID_INPUT', {
    message: `${apiErrorCodes.INVALID_INPUT} ${problems.join('; ')}`,
  });
}
