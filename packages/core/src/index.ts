// The names users need, each listed on purpose: every export is a promise for
// core and the adapters, which version together. Adapter and store authors'
// helpers are on `@c2p/core/kit`; Node's request and response mapping on `@c2p/core/node`.
export {
  type BasicAuthOptions,
  type BasicAuthVerifier,
  type BasicCredentials,
  createBasicAuthVerifier,
  encodeBasicAuth,
  verifyBasicAuth,
} from './basic-auth.js';
export type { CircuitBreakerOptions } from './circuit-breaker.js';
export {
  type ClientIpOptions,
  type ClientIpResolver,
  createClientIpResolver,
} from './client-ip.js';
export {
  createHandlers,
  type EventHandler,
  type HandlerContext,
  type Handlers,
} from './create-handlers.js';
export { createWebhooks } from './create-webhooks.js';
export type {
  DeliveryReport,
  ErrorContext,
  EventOutcome,
  EventReport,
  FailedOutcome,
} from './delivery-report.js';
export {
  C2pError,
  type C2pErrorCode,
  type C2pErrorOptions,
  type DeliveryStep,
  errorCodes,
  isC2pError,
} from './errors.js';
export {
  type C2pEvent,
  type EventFor,
  type EventOf,
  eventTypes,
  isKnownEvent,
  isKnownEventType,
  type KnownEvent,
  type KnownEventType,
  type Merchant,
  type OpenString,
  type PaymentRequestResource,
  type PaymentRequestStatus,
  type PaymentResource,
  type PaymentStatus,
  type ResourceBase,
  type ResourceKind,
  type UnknownEventTypeEvent,
} from './events.js';
export { defaultIdempotencyKey } from './idempotency-key.js';
export type {
  IdempotencyStore,
  TransactionalIdempotencyStore,
  TransactionOf,
} from './idempotency-store.js';
export { type InboxHealth, type InboxHealthSource, readInboxHealth } from './inbox-health.js';
export {
  type InboxEntry,
  type InboxFilter,
  type InboxHistoryAction,
  type InboxHistoryItem,
  type InboxPage,
  type InboxReplayOptions,
  type InboxSearch,
  type InboxState,
  type InboxStore,
  type InboxTransactionOf,
  inboxStates,
  type TransactionalInboxStore,
} from './inbox-store.js';
export { wakeInboxWorkers } from './inbox-wakeups.js';
export {
  type AttemptOutcome,
  type AttemptReport,
  type InboxWorker,
  type InboxWorkerOptions,
  startInboxWorker,
  type WorkerErrorContext,
} from './inbox-worker.js';
export {
  clik2payIps,
  createIpAllowlist,
  type IpAllowlist,
  type IpAllowlistOptions,
  type IpPreset,
} from './ip-allowlist.js';
export { createMemoryInbox, type MemoryInbox, type MemoryInboxOptions } from './memory-inbox.js';
export { createMemoryStore, type MemoryStore, type MemoryStoreOptions } from './memory-store.js';
export {
  type ParseEventsResult,
  type ParseIssue,
  parseEvents,
  type RawBody,
} from './parse-events.js';
export {
  createMemoryRateGate,
  type MemoryRateGateOptions,
  type RateGate,
  type RateGateOptions,
} from './rate-gate.js';
export type {
  CommonWebhooksOptions,
  InboxWebhooksOptions,
  SyncWebhooksOptions,
  WebhooksOptions,
} from './resolve-options.js';
export {
  createRetrySchedule,
  type RetrySchedule,
  type RetryScheduleOptions,
  retryScheduleDefaults,
} from './retry-schedule.js';
export type {
  OpenTelemetryApi,
  TelemetryAttributes,
  TelemetryMeter,
  TelemetryObservation,
  TelemetrySpan,
  TelemetryTracer,
} from './telemetry.js';
export type { WebhookIntake, Webhooks } from './webhooks.js';
export type { WorkerRateOptions } from './worker-admission.js';
export type { BacklogReport, DeadEvent, DeadEventHook } from './worker-observers.js';
