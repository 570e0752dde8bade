import { randomBytes, randomUUID } from 'node:crypto';
import type { FactoryEvent } from './create-event.js';
import { createEvent } from './create-event.js';
import { OptionError } from './option-error.js';

/** A switched-on fault: the next `times` calls to `target` answer `status`. */
export interface MockFault {
  /** 429 or a 5xx. */
  status: number;
  /** How many calls get it. Defaults to `1`. */
  times?: number;
  /** Sent as `Retry-After` (seconds). */
  retryAfterS?: number;
  /** `api` (the default: `/open/v1/...`) or `token` (`/oauth2/token`). */
  target?: 'api' | 'token';
}

/** A payment request as the mock stores and answers it (the webhook `resource` shape). */
export interface MockPaymentRequest {
  id: string;
  merchantTransactionId: string | null;
  amount: number;
  type: string;
  status: string;
  deliveryMode: string;
  merchant: { id: string; name: string };
  payer: Record<string, unknown>;
  [field: string]: unknown;
}

/** What the control routes do to a payment request. */
export type MockSettlement = 'pay' | 'fail' | 'refund';

/** Counts of what the mock was asked, for tests that assert a client's behaviour. */
export interface MockStats {
  tokenCalls: number;
  apiCalls: number;
  /** Calls answered with a switched-on fault. */
  faults: number;
}

const createFields = {
  types: ['ECOMM', 'EBILL', 'FLEX'],
  deliveryModes: ['SMS', 'EMAIL', 'NONE'],
} as const;

const merchant = { id: 'a7815ec3-72cd-4efe-b809-28f14501a5d3', name: 'Merchant name' };

/** The mock's memory: issued tokens, payment requests, faults and counts. Nothing about HTTP. */
export class Clik2payMockState {
  readonly stats: MockStats = { tokenCalls: 0, apiCalls: 0, faults: 0 };
  readonly #tokens = new Map<string, number>();
  readonly #requests = new Map<string, MockPaymentRequest>();
  readonly #faults: Required<MockFault>[] = [];
  readonly #now: () => number;

  constructor(now: () => number = Date.now) {
    this.#now = now;
  }

  /** Issues a token valid for `ttlS` seconds. */
  issueToken(ttlS: number): string {
    const token = randomBytes(24).toString('base64url');
    this.#tokens.set(token, this.#now() + ttlS * 1000);
    return token;
  }

  /** Whether `token` was issued and has not expired. */
  isValidToken(token: string): boolean {
    const expiresAt = this.#tokens.get(token);
    return expiresAt !== undefined && this.#now() < expiresAt;
  }

  /** Every token issued so far stops working, as if it had expired. */
  expireTokens(): void {
    this.#tokens.clear();
  }

  /** Queues a fault. */
  addFault(fault: MockFault): void {
    checkFault(fault);
    this.#faults.push({ times: 1, retryAfterS: -1, target: 'api', ...fault });
  }

  /** The fault this call gets, if one is queued for its target (counted down). */
  takeFault(target: 'api' | 'token'): Required<MockFault> | undefined {
    const fault = this.#faults.find((f) => f.target === target && f.times > 0);
    if (fault === undefined) return undefined;
    fault.times -= 1;
    if (fault.times === 0) this.#faults.splice(this.#faults.indexOf(fault), 1);
    this.stats.faults += 1;
    return fault;
  }

  /** Creates a payment request, or answers the problems with the input. */
  create(input: unknown): { created: MockPaymentRequest } | { problems: string[] } {
    const problems = checkCreateInput(input);
    if (problems.length > 0) return { problems };
    const fields = input as Record<string, unknown>;
    const mtid = fields.merchantTransactionId as string;
    if ([...this.#requests.values()].some((r) => r.merchantTransactionId === mtid)) {
      return { problems: ['merchantTransactionId: already used by another payment request'] };
    }
    const created: MockPaymentRequest = {
      ...fields,
      id: randomUUID(),
      merchantTransactionId: mtid,
      amount: fields.amount as number,
      type: fields.type as string,
      status: 'ACTIVE',
      deliveryMode: fields.deliveryMode as string,
      merchant: { ...merchant },
      payer: { ...(fields.payer as Record<string, unknown>) },
    };
    this.#requests.set(created.id, created);
    return { created };
  }

  /** A copy of the payment request, or `undefined`. */
  get(id: string): MockPaymentRequest | undefined {
    const found = this.#requests.get(id);
    return found === undefined ? undefined : structuredClone(found);
  }

  /**
   * Settles a payment request and answers the event Clik2pay would send, or why
   * it cannot: `pay` and `fail` need it unsettled, `refund` needs it `PAID`.
   */
  settle(id: string, action: MockSettlement): { event: FactoryEvent } | { conflict: string } {
    const request = this.#requests.get(id);
    if (request === undefined) return { conflict: 'not-found' };
    if (action === 'refund') {
      if (request.status !== 'PAID') return { conflict: `it is ${request.status}, not PAID` };
      const event = createEvent({
        kind: 'payment',
        eventType: 'PAYMENT-COMPLETED',
        amount: request.amount,
        // Not documented for a refund's resource; sent so a receiver can find its order.
        resource: { merchantTransactionId: request.merchantTransactionId, paymentRequestId: id },
      });
      return { event };
    }
    if (request.status === 'PAID' || request.status === 'FAILED') {
      return { conflict: `it is already ${request.status}` };
    }
    request.status = action === 'pay' ? 'PAID' : 'FAILED';
    const event = createEvent({
      eventType: action === 'pay' ? 'PAYMENT-COMPLETED' : 'PAYMENT-FAILED',
      id,
      status: request.status,
      amount: request.amount,
      resource: structuredClone(request),
    });
    return { event };
  }
}

/** What Clik2pay documents for a create, as problems by field (never the values). */
export function checkCreateInput(input: unknown): string[] {
  if (typeof input !== 'object' || input === null || Array.isArray(input)) {
    return ['body: is not a JSON object'];
  }
  const fields = input as Record<string, unknown>;
  const problems: string[] = [];
  const { amount, merchantTransactionId: mtid, type, deliveryMode, payer } = fields;
  if (typeof amount !== 'number' || !(amount >= 0.01 && amount <= 10_000)) {
    problems.push('amount: must be a number from 0.01 to 10000');
  } else if (Math.abs(Math.round(amount * 100) - amount * 100) > 1e-6) {
    problems.push('amount: has more than two decimals');
  }
  if (typeof mtid !== 'string' || mtid.length < 6 || mtid.length > 32) {
    problems.push('merchantTransactionId: must be 6 to 32 characters');
  }
  if (!(createFields.types as readonly unknown[]).includes(type)) {
    problems.push(`type: must be one of ${createFields.types.join(', ')}`);
  }
  if (!(createFields.deliveryModes as readonly unknown[]).includes(deliveryMode)) {
    problems.push(`deliveryMode: must be one of ${createFields.deliveryModes.join(', ')}`);
  }
  if (typeof payer !== 'object' || payer === null || Array.isArray(payer)) {
    problems.push('payer: must be an object');
  }
  return problems;
}

/** Throws an {@link OptionError} naming the field of a fault that is wrong. */
function checkFault(fault: MockFault): void {
  if (fault.status !== 429 && !(fault.status >= 500 && fault.status <= 599)) {
    throw new OptionError('fault.status', `${fault.status} is not 429 or a 5xx`);
  }
  if (fault.times !== undefined && !(Number.isInteger(fault.times) && fault.times >= 1)) {
    throw new OptionError('fault.times', `${fault.times} is not a whole number >= 1`);
  }
  if (
    fault.retryAfterS !== undefined &&
    !(Number.isInteger(fault.retryAfterS) && fault.retryAfterS >= 0)
  ) {
    throw new OptionError('fault.retryAfterS', `${fault.retryAfterS} is not whole seconds >= 0`);
  }
  if (fault.target !== undefined && fault.target !== 'api' && fault.target !== 'token') {
    throw new OptionError('fault.target', `"${String(fault.target)}" is not api or token`);
  }
}
