import type { IncomingMessage } from 'node:http';
import { type ExpectedPayment, type Order, type OrderState, orderStates } from '../order.js';
import {
  decodeOrderCursor,
  encodeOrderCursor,
  type OrderBook,
  type OrderQuery,
} from '../order-book.js';
import { badRequest, createAdminError, notFound } from './admin-error.js';
import { type AdminReply, jsonReply } from './admin-reply.js';
import { readJsonBody } from './json-body.js';

/** How many orders one listing answers at most, and by default. */
export const ordersLimitMax = 500;
export const ordersLimitDefault = 100;

/** An order as the API answers it: `{ id, state, fulfilments, amount, merchantTransactionId, fulfilment, events, inbox }` and more. */
export type PublicOrder = Order;

/** A parameter's name in an error message: as it is when it is a plain word, never other request input. */
const named = (name: string): string =>
  /^[A-Za-z0-9_.-]{1,40}$/.test(name) ? `"${name}"` : 'a parameter';

/** Text a person typed: a payment request id or a merchant reference. */
const isReference = (value: string, max: number): boolean =>
  value.length >= 1 &&
  value.length <= max &&
  // biome-ignore lint/suspicious/noControlCharactersInRegex: refusing control characters is the point.
  !/[\u0000-\u001f\u007f]/.test(value);

/** `?q=&state=&limit=&after=`: any other parameter, a repeated one or a bad value is a 400 naming it. */
export function ordersQuery(params: URLSearchParams): OrderQuery {
  const seen = new Set<string>();
  for (const name of params.keys()) {
    if (!['q', 'state', 'limit', 'after'].includes(name)) {
      throw badRequest(`Unknown parameter ${named(name)}: use q, state, limit or after.`);
    }
    if (seen.has(name)) throw badRequest(`The parameter "${name}" is given twice.`);
    seen.add(name);
  }
  const q = params.get('q') ?? undefined;
  if (q !== undefined && !isReference(q, 200)) {
    throw badRequest(
      'q must be a payment request id or merchant reference of 1 to 200 characters.',
    );
  }
  const state = params.get('state') ?? undefined;
  if (state !== undefined && !(orderStates as readonly string[]).includes(state)) {
    throw badRequest(`state must be one of ${orderStates.join(', ')}.`);
  }
  const rawLimit = params.get('limit');
  const limit = rawLimit === null ? ordersLimitDefault : Number(rawLimit);
  if (
    rawLimit !== null &&
    (!/^[0-9]{1,4}$/.test(rawLimit) || limit < 1 || limit > ordersLimitMax)
  ) {
    throw badRequest(`limit must be a whole number from 1 to ${ordersLimitMax}.`);
  }
  const rawAfter = params.get('after');
  const after = rawAfter === null ? undefined : decodeOrderCursor(rawAfter);
  if (rawAfter !== null && after === undefined) {
    throw badRequest('after must be the next cursor of a previous listing.');
  }
  return { q, state: state as OrderState | undefined, limit, after };
}

/** `POST /api/orders`'s body: `{ paymentRequestId, amount?, merchantTransactionId? }`, nothing else. */
export function expectedPayment(body: unknown): ExpectedPayment {
  if (body === null || typeof body !== 'object' || Array.isArray(body)) {
    throw badRequest(
      'The body must be a JSON object { paymentRequestId, amount?, merchantTransactionId? }.',
    );
  }
  const fields = body as Record<string, unknown>;
  for (const name of Object.keys(fields)) {
    if (!['paymentRequestId', 'amount', 'merchantTransactionId'].includes(name)) {
      throw badRequest(
        `Unknown field ${named(name)}: use paymentRequestId, amount or merchantTransactionId.`,
      );
    }
  }
  const { paymentRequestId, amount, merchantTransactionId } = fields;
  if (typeof paymentRequestId !== 'string' || !isReference(paymentRequestId, 200)) {
    throw badRequest(
      'paymentRequestId must be a string of 1 to 200 characters, without control characters.',
    );
  }
  if (
    amount !== undefined &&
    (typeof amount !== 'number' || !Number.isFinite(amount) || amount <= 0 || amount > 1e9)
  ) {
    throw badRequest('amount must be a positive number.');
  }
  if (
    merchantTransactionId !== undefined &&
    (typeof merchantTransactionId !== 'string' || !isReference(merchantTransactionId, 200))
  ) {
    throw badRequest(
      'merchantTransactionId must be a string of 1 to 200 characters, without control characters.',
    );
  }
  return { paymentRequestId, amount, merchantTransactionId };
}

const prefix = '/api/orders/';

/** `GET /api/orders`, `POST /api/orders` and `GET /api/orders/:id`. */
export function createOrdersRoutes(orders: OrderBook): {
  list(url: URL): Promise<AdminReply>;
  create(req: IncomingMessage): Promise<AdminReply>;
  /** `undefined` when the path is not under `/api/orders/`. */
  one(path: string): Promise<AdminReply> | undefined;
} {
  return {
    async list(url) {
      const page = await orders.list(ordersQuery(url.searchParams));
      return jsonReply({
        orders: page.orders,
        next: page.next === null ? null : encodeOrderCursor(page.next),
      });
    },
    async create(req) {
      const expected = expectedPayment(await readJsonBody(req));
      const order = await orders.register(expected);
      if (!order) {
        throw createAdminError({
          status: 409,
          code: 'ORDER_EXISTS',
          message: 'An order with this payment request id exists already.',
        });
      }
      return jsonReply(order, 201);
    },
    one(path) {
      if (!path.startsWith(prefix)) return undefined;
      let id: string;
      try {
        id = decodeURIComponent(path.slice(prefix.length));
      } catch {
        throw badRequest('The order id is not valid.');
      }
      return orders.get(id).then((order) => {
        if (!order) throw notFound('No such order.');
        return jsonReply(order);
      });
    },
  };
}
