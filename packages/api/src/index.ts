/**
 * @c2p/api: a typed client for Clik2pay's Payment Requests API, on `fetch`
 * only (Node 20+, Bun, Deno, Workers).
 */

export type { ApiErrorCode, C2pApiErrorOptions } from './api-error.js';
export { apiErrorCodes, C2pApiError, isC2pApiError } from './api-error.js';
export type { PaidClaim, PaidConfirmation } from './confirm-paid.js';
export { confirmPaid } from './confirm-paid.js';
export type { CallOptions, Clik2payClient } from './create-clik2pay-client.js';
export { createClik2payClient } from './create-clik2pay-client.js';
export type { PipelineSubmitOptions, SubmitPipeline } from './create-pipeline-submit.js';
export { createPipelineSubmit } from './create-pipeline-submit.js';
export type { Reconciler } from './create-reconciler.js';
export { createReconciler } from './create-reconciler.js';
export type { Clik2payEnvironment, Clik2payEnvironmentName } from './environments.js';
export { clik2payEnvironments } from './environments.js';
export type { ReconciledEvent } from './reconcile-event.js';
export { webhookEventFor } from './reconcile-event.js';
export type {
  ExpectedPayment,
  ExpectedQuery,
  ReconcileCounts,
  ReconcileOutcome,
  ReconcileReport,
  ReconcilerOptions,
} from './reconciler-options.js';
export { reconcileOutcomes } from './reconciler-options.js';
export type { Clik2payClientOptions } from './resolve-client-options.js';
export type { RetryOptions } from './retry-policy.js';
export type {
  CreatedPaymentRequest,
  CreatePaymentRequestInput,
  PaymentRequest,
} from './schemas.js';
export { deliveryModes, paymentRequestTypes } from './schemas.js';
