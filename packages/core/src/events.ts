import { z } from 'zod';
import { isRecord } from './is-record.js';

/** The event types Clik2pay documents. Others may appear: see {@link UnknownEventTypeEvent}. */
export const eventTypes = [
  'PAYMENT-COMPLETED',
  'PAYMENT-FAILED',
  'PAYMENT-LINK-FOLLOWED',
  'PAYMENT-PROCESSING',
] as const;

/** A documented `eventType`. */
export type KnownEventType = (typeof eventTypes)[number];

/**
 * The kind of `resource`, normalised from `resourceType` (`payment-request`,
 * `Payment Requests API`, `payment`, `Payments API`, any case), falling back to
 * the resource's shape (`payer` means a payment request, `recipient` a payment).
 */
export type ResourceKind = 'payment-request' | 'payment' | 'unknown';

/** An open string set: the documented values autocomplete, any other string is allowed. */
export type OpenString<Known extends string> = Known | (string & {});

/** Statuses seen for payment requests; the set is open. */
export type PaymentRequestStatus = OpenString<
  'CREATED' | 'SCHEDULED' | 'ACTIVE' | 'PAID' | 'SETTLED' | 'FAILED' | 'CANCELLED'
>;

/** Statuses seen for payments (refunds, payouts); the set is open. */
export type PaymentStatus = OpenString<
  'ACCEPTED' | 'CREATED' | 'READY' | 'ACTIVE' | 'PAID' | 'SETTLED' | 'FAILED' | 'CANCELLED'
>;

/** The merchant a resource belongs to. */
export interface Merchant {
  id?: string;
  name?: string;
  [field: string]: unknown;
}

/** Fields every resource has; unknown fields are kept. */
export interface ResourceBase {
  /** The resource's id (a UUID for payment requests). Always present. */
  id: string;
  /** Present on every documented resource; open set. */
  status?: string;
  merchantTransactionId?: string | null;
  /** In CAD. */
  amount?: number;
  merchant?: Merchant;
  [field: string]: unknown;
}

/** A payment request, as the Payment Requests API returns it. */
export interface PaymentRequestResource extends ResourceBase {
  status?: PaymentRequestStatus;
  type?: OpenString<'ECOMM' | 'EBILL' | 'FLEX' | 'SMART' | 'MOBIL'>;
  deliveryMode?: OpenString<'SMS' | 'EMAIL' | 'NONE'>;
  payer?: { name?: string; [field: string]: unknown };
}

/** A payment (a refund or payout), as the Payments API returns it. */
export interface PaymentResource extends ResourceBase {
  status?: PaymentStatus;
  recipient?: { email?: string; mobileNumber?: string; [field: string]: unknown };
  displayMessage?: string;
  invoiceNumber?: string;
  businessUnit?: string;
}

interface EventBase<T extends string, K extends ResourceKind, R extends ResourceBase> {
  /** `true` for a documented `eventType`; discriminates {@link UnknownEventTypeEvent}. */
  readonly known: T extends KnownEventType ? true : false;
  readonly eventType: T;
  /** The normalised resource kind; discriminates the resource type. */
  readonly kind: K;
  /** `resourceType` exactly as sent, if sent. */
  readonly resourceType: string | undefined;
  /** Human text, for logs only: never branch on it. */
  readonly message: string | undefined;
  readonly resource: R;
  /** The event object exactly as parsed from JSON, for logging. */
  readonly raw: Readonly<Record<string, unknown>>;
}

/** An event about a resource of any kind, for one event type. */
export type EventOf<T extends string> =
  | EventBase<T, 'payment-request', PaymentRequestResource>
  | EventBase<T, 'payment', PaymentResource>
  | EventBase<T, 'unknown', ResourceBase>;

/** A documented event: narrow it by `eventType`, then by `kind`. */
export type KnownEvent = { [T in KnownEventType]: EventOf<T> }[KnownEventType];

/** An event whose `eventType` c2p does not know yet; accepted with a 200. */
export type UnknownEventTypeEvent = EventOf<string> & { readonly known: false };

/** Any parsed event. Check `known` first, then `eventType`, then `kind`. */
export type C2pEvent = KnownEvent | UnknownEventTypeEvent;

/** The event type for one documented `eventType`. */
export type EventFor<T extends KnownEventType> = Extract<KnownEvent, { eventType: T }>;

/**
 * The longest `resource.id` accepted, in UTF-16 code units. A Clik2pay id is a
 * 36-character UUID; the bound keeps the idempotency key (and a downstream
 * `Idempotency-Key` header made of it) to well under a kilobyte.
 */
export const maxResourceIdLength = 256;

/** The longest `eventType` and `resource.status` accepted (the documented ones are under 25). */
export const maxKeyPartLength = 64;

// A C0 control or DEL, or a surrogate without its pair: NUL is refused by
// PostgreSQL's text, controls break HTTP headers, and a lone surrogate becomes
// U+FFFD in UTF-8, so two different ids would share one stored key.
const unsafeKeyCharacter =
  // biome-ignore lint/suspicious/noControlCharactersInRegex: control characters are what it finds
  /[\u0000-\u001f\u007f]|[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/;

/**
 * Can `value` be part of an idempotency key? False for a control character
 * (U+0000 to U+001F, U+007F) or an unpaired surrogate, which no store and no
 * HTTP header carries faithfully.
 */
export function isKeySafe(value: string): boolean {
  return !unsafeKeyCharacter.test(value);
}

/** The message of the issue for a value {@link isKeySafe} refuses; never the value. */
export const keyUnsafeMessage = 'must not contain control characters or unpaired surrogates';

/** A string that becomes part of the idempotency key: non-empty, bounded, key-safe. */
const keyPart = (max: number) =>
  z.string().min(1).max(max).refine(isKeySafe, { message: keyUnsafeMessage });

/**
 * The resource fields routing and deduplication need, strict; everything else
 * passes through unchanged. `id` and `status` become the idempotency key, so they
 * are bounded ({@link maxResourceIdLength}, {@link maxKeyPartLength}) and
 * {@link isKeySafe}. `amount`, when present, must be a number because merchants
 * compare it with what they are owed.
 */
export const resourceSchema = z.looseObject({
  id: keyPart(maxResourceIdLength),
  status: z
    .string()
    .max(maxKeyPartLength)
    .refine(isKeySafe, { message: keyUnsafeMessage })
    .optional(),
  amount: z.number().optional(),
  merchantTransactionId: z.string().nullable().optional(),
});

/** One event on the wire: strict where it matters, open everywhere else. */
export const eventSchema = z.looseObject({
  eventType: keyPart(maxKeyPartLength),
  // Neither matters to safety (`message` is for logs, `kind` falls back to the
  // shape), so a value of another type (`null`) reads as absent, not as a 422.
  message: z.string().optional().catch(undefined),
  resourceType: z.string().optional().catch(undefined),
  resource: resourceSchema,
});

/** A delivery body: one event, or an array of at least one event. */
export const bodySchema = z.union([eventSchema, z.array(eventSchema).min(1)]);

/** An event as validated by {@link eventSchema}, before normalisation. */
export type WireEvent = z.infer<typeof eventSchema>;

const knownTypes: ReadonlySet<string> = new Set(eventTypes);

/** Is `eventType` a documented one? */
export function isKnownEventType(eventType: string): eventType is KnownEventType {
  return knownTypes.has(eventType);
}

/** Is `event` a documented event type? Narrows to {@link KnownEvent}. */
export function isKnownEvent(event: C2pEvent): event is KnownEvent {
  return event.known;
}

// The spellings seen in the wild, answered without a regex on the hot path.
const documentedSpellings = new Map<string, ResourceKind>([
  ['payment-request', 'payment-request'],
  ['Payment Requests API', 'payment-request'],
  ['payment', 'payment'],
  ['Payments API', 'payment'],
]);

/**
 * Normalises `resourceType` to a {@link ResourceKind}: `payment-request`,
 * `Payment Requests API` (and `payment_request`, `PaymentRequest`, any case) are
 * payment requests; `payment`, `Payments API` are payments. An unrecognised or
 * missing value falls back to the resource's shape.
 */
export function resolveResourceKind(
  resourceType: string | undefined,
  resource: Readonly<Record<string, unknown>>,
): ResourceKind {
  const documented = resourceType === undefined ? undefined : documentedSpellings.get(resourceType);
  if (documented) return documented;
  if (resourceType !== undefined) {
    const slug = resourceType
      .toLowerCase()
      .replace(/[\s_-]+/g, '')
      .replace(/api$/, '');
    if (slug === 'paymentrequest' || slug === 'paymentrequests') return 'payment-request';
    if (slug === 'payment' || slug === 'payments') return 'payment';
  }
  const hasPayer = isRecord(resource.payer);
  const hasRecipient = isRecord(resource.recipient);
  if (hasPayer && !hasRecipient) return 'payment-request';
  if (hasRecipient && !hasPayer) return 'payment';
  return 'unknown';
}

/** Turns a validated wire event into a typed {@link C2pEvent}. */
export function toEvent(wire: WireEvent): C2pEvent {
  // The hot path hands over the parsed JSON itself, where these may be of another type.
  const resourceType = typeof wire.resourceType === 'string' ? wire.resourceType : undefined;
  return {
    known: isKnownEventType(wire.eventType),
    eventType: wire.eventType,
    kind: resolveResourceKind(resourceType, wire.resource),
    resourceType,
    message: typeof wire.message === 'string' ? wire.message : undefined,
    resource: wire.resource,
    raw: wire,
  } as C2pEvent;
}
