import { z } from 'zod';

/**
 * The token endpoint's answer: `{"access_token", "expires_in": 3600, "token_type": "Bearer"}`.
 * `expires_in` may come as a numeric string; any other `token_type` than Bearer is refused.
 */
export const tokenResponseSchema = z.looseObject({
  access_token: z.string().min(1),
  expires_in: z.coerce.number().positive().finite(),
  token_type: z
    .string()
    .refine((type) => type.toLowerCase() === 'bearer', 'is not Bearer')
    .optional(),
});

/** The token endpoint's answer, checked. */
export type TokenResponse = z.infer<typeof tokenResponseSchema>;

/** Payment request types the API accepts on create (`SMART` is read-only, `MOBIL` deprecated). */
export const paymentRequestTypes = ['ECOMM', 'EBILL', 'FLEX'] as const;

/** How Clik2pay sends the payer the request. */
export const deliveryModes = ['SMS', 'EMAIL', 'NONE'] as const;

/**
 * What {@link Clik2payClient.createPaymentRequest} sends, checked before
 * anything is sent. Fields beyond these (`invoiceNumber`, `businessUnit`, ...)
 * pass through as given.
 */
export const createPaymentRequestInputSchema = z.looseObject({
  /** In CAD, 0.01 to 10,000, at most two decimals. */
  amount: z
    .number()
    .min(0.01)
    .max(10_000)
    .refine((amount) => Math.abs(Math.round(amount * 100) - amount * 100) < 1e-6, {
      message: 'has more than two decimals',
    }),
  /** Your reference, 6 to 32 characters, unique per merchant. */
  merchantTransactionId: z.string().min(6).max(32),
  type: z.enum(paymentRequestTypes),
  deliveryMode: z.enum(deliveryModes),
  payer: z.looseObject({
    name: z.string().optional(),
    email: z.string().optional(),
    mobileNumber: z.string().optional(),
  }),
  /** `YYYY-MM-DD`. */
  dueDate: z.string().optional(),
});

/** The input of {@link Clik2payClient.createPaymentRequest}. */
export type CreatePaymentRequestInput = z.input<typeof createPaymentRequestInputSchema>;

/**
 * A payment request as the API answers a read, taken to have the webhook
 * `resource` shape: `id`, `status` and `amount` are required, the documented
 * fields are typed when present, and unknown fields pass through.
 */
export const paymentRequestSchema = z.looseObject({
  id: z.string().min(1),
  status: z.string().min(1),
  amount: z.number(),
  merchantTransactionId: z.string().nullable().optional(),
  type: z.string().optional(),
  deliveryMode: z.string().optional(),
  merchant: z.looseObject({ id: z.string().optional(), name: z.string().optional() }).optional(),
  payer: z.looseObject({}).optional(),
});

/** A payment request read from the API. Unknown fields are kept. */
export type PaymentRequest = z.infer<typeof paymentRequestSchema>;

/**
 * The answer to a create: documented only as carrying the new payment
 * request's id, so only `id` is required; the rest is typed when present.
 */
export const createdPaymentRequestSchema = paymentRequestSchema.partial().required({ id: true });

/** The API's answer to a create: `id`, and whatever else it sent. */
export type CreatedPaymentRequest = z.infer<typeof createdPaymentRequestSchema>;
