import { randomUUID } from 'node:crypto';
import type {
  KnownEventType,
  OpenString,
  PaymentRequestResource,
  PaymentResource,
} from '@c2p/core';
import { OptionError } from './option-error.js';

/** The resource kinds the factories build. */
export type FactoryResourceKind = 'payment-request' | 'payment';

/** An `eventType`: a documented one autocompletes, any other string is allowed. */
export type FactoryEventType = OpenString<KnownEventType>;

/** A payment request resource as the factories build it: every documented field is set. */
export interface FactoryPaymentRequestResource extends PaymentRequestResource {
  id: string;
  status: string;
  amount: number;
  merchantTransactionId: string | null;
}

/** A payment (refund or payout) resource as the factories build it. */
export interface FactoryPaymentResource extends PaymentResource {
  id: string;
  status: string;
  amount: number;
  merchantTransactionId: string | null;
  recipient: { email?: string; mobileNumber?: string; [field: string]: unknown };
}

/** One event on the wire, as Clik2pay sends it, about a payment request. */
export interface PaymentRequestWireEvent {
  eventType: FactoryEventType;
  message?: string;
  /** Absent when the factory was asked to omit it (`resourceType: null`). */
  resourceType?: string;
  resource: FactoryPaymentRequestResource;
  [field: string]: unknown;
}

/** One event on the wire, as Clik2pay sends it, about a payment (refund or payout). */
export interface PaymentWireEvent {
  eventType: FactoryEventType;
  message?: string;
  resourceType?: string;
  resource: FactoryPaymentResource;
  [field: string]: unknown;
}

/** Any event the factories build. */
export type FactoryEvent = PaymentRequestWireEvent | PaymentWireEvent;

/** Options for {@link createEvent}; everything has a sensible default. */
export interface CreateEventOptions {
  /** Defaults to `PAYMENT-COMPLETED`. Undocumented values are allowed, to test unknown types. */
  eventType?: FactoryEventType;
  /** Defaults to `payment-request`. */
  kind?: FactoryResourceKind;
  /** The resource id. Defaults to a fresh `crypto.randomUUID()`. */
  id?: string;
  /** Defaults to {@link defaultStatus} for the event type and kind. */
  status?: string;
  /** In CAD. Defaults to `1` (the documented example's amount). */
  amount?: number;
  /**
   * The `resourceType` spelling. Defaults to `payment-request` or `payment`; see
   * {@link resourceTypeSpellings}. `null` omits the field, so a receiver has to
   * fall back to the resource's shape.
   */
  resourceType?: string | null;
  /** Defaults to a short human sentence for the event type; `null` omits the field. */
  message?: string | null;
  /** Fields merged over the resource (shallow), e.g. `invoiceNumber` or unknown extras. */
  resource?: Record<string, unknown>;
  /** Extra top-level fields on the event, e.g. ones Clik2pay might add later. */
  fields?: Record<string, unknown>;
}

/**
 * The `resourceType` spellings seen for each kind: the documentation's field
 * table, its example, and the probable Payments-API slug. Receivers must accept
 * all of them, in any case.
 */
export const resourceTypeSpellings: Readonly<Record<FactoryResourceKind, readonly string[]>> = {
  'payment-request': ['payment-request', 'Payment Requests API', 'PAYMENT-REQUEST'],
  payment: ['payment', 'Payments API', 'PAYMENT'],
};

const documentedMerchant = {
  id: 'a7815ec3-72cd-4efe-b809-28f14501a5d3',
  name: 'Merchant name',
} as const;

/**
 * The documented example body, exactly as Clik2pay's webhook page shows it (an
 * array holding one event). A fresh copy on every call, so tests may mutate it.
 */
export function documentedExample(): PaymentRequestWireEvent[] {
  return [
    {
      message: 'The payer successfully completed the transaction.',
      eventType: 'PAYMENT-COMPLETED',
      resourceType: 'payment-request',
      resource: {
        id: '8ecd810d-c0e2-40a6-8ab9-da12d72a3d6a',
        merchantTransactionId: null,
        amount: 1.0,
        type: 'EBILL',
        status: 'PAID',
        deliveryMode: 'SMS',
        merchant: { ...documentedMerchant },
        payer: { name: 'firstName lastName' },
      },
    },
  ];
}

/**
 * The status a resource has when Clik2pay sends this event type about it:
 * `PAYMENT-COMPLETED` means `PAID` for a payment request and `ACCEPTED` for a
 * refund; `PAYMENT-FAILED` means `FAILED`; a followed link, a payment still
 * processing and any undocumented event type leave it `ACTIVE`.
 */
export function defaultStatus(eventType: FactoryEventType, kind: FactoryResourceKind): string {
  switch (eventType) {
    case 'PAYMENT-COMPLETED':
      return kind === 'payment' ? 'ACCEPTED' : 'PAID';
    case 'PAYMENT-FAILED':
      return 'FAILED';
    default:
      return 'ACTIVE';
  }
}

/**
 * A human `message` per event type. Only the `PAYMENT-COMPLETED` one for
 * payment requests is the provider's own wording; the others are plausible stand-ins.
 */
function defaultMessage(eventType: FactoryEventType, kind: FactoryResourceKind): string {
  switch (eventType) {
    case 'PAYMENT-COMPLETED':
      return kind === 'payment'
        ? 'The refund was accepted.'
        : 'The payer successfully completed the transaction.';
    case 'PAYMENT-FAILED':
      return 'The transaction failed during processing.';
    case 'PAYMENT-LINK-FOLLOWED':
      return 'The payer followed the payment link.';
    case 'PAYMENT-PROCESSING':
      return 'The transaction is being processed.';
    default:
      return `Event ${eventType}.`;
  }
}

/**
 * Builds one valid event as Clik2pay would send it, starting from the
 * documented example, with a fresh resource id unless one is given.
 *
 * @example
 * ```ts
 * const paid = createEvent();                                   // PAYMENT-COMPLETED, PAID
 * const refund = createEvent({ kind: 'payment' });              // PAYMENT-COMPLETED, ACCEPTED
 * const failed = createEvent({ eventType: 'PAYMENT-FAILED', amount: 25.5 });
 * const oldSpelling = createEvent({ resourceType: 'Payment Requests API' });
 * ```
 */
export function createEvent(options: CreateEventOptions & { kind: 'payment' }): PaymentWireEvent;
export function createEvent(
  options?: CreateEventOptions & { kind?: 'payment-request' },
): PaymentRequestWireEvent;
export function createEvent(options?: CreateEventOptions): FactoryEvent;
export function createEvent(options: CreateEventOptions = {}): FactoryEvent {
  const eventType = options.eventType ?? 'PAYMENT-COMPLETED';
  const kind = options.kind ?? 'payment-request';
  if (kind !== 'payment-request' && kind !== 'payment') {
    throw new OptionError(
      'options.kind',
      `"${String(kind)}" is not "payment-request" or "payment"`,
    );
  }
  if (options.amount !== undefined && !Number.isFinite(options.amount)) {
    throw new OptionError('options.amount', `${options.amount} is not a finite number`);
  }
  const common = {
    id: options.id ?? randomUUID(),
    merchantTransactionId: null,
    amount: options.amount ?? 1.0,
    status: options.status ?? defaultStatus(eventType, kind),
    merchant: { ...documentedMerchant },
  };
  const resource =
    kind === 'payment'
      ? {
          ...common,
          recipient: { email: 'recipient@example.com', mobileNumber: '4165550123' },
          ...options.resource,
        }
      : {
          ...common,
          type: 'EBILL',
          deliveryMode: 'SMS',
          payer: { name: 'firstName lastName' },
          ...options.resource,
        };

  const event: Record<string, unknown> = {};
  const message = options.message === undefined ? defaultMessage(eventType, kind) : options.message;
  if (message !== null) event.message = message;
  event.eventType = eventType;
  const resourceType = options.resourceType === undefined ? kind : options.resourceType;
  if (resourceType !== null) event.resourceType = resourceType;
  event.resource = resource;
  Object.assign(event, options.fields);
  return event as FactoryEvent;
}
