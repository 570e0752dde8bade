/**
 * `@c2p/core/kit`: helpers for adapter and store authors. Users need none of
 * these; they are versioned with core all the same.
 * @packageDocumentation
 */

export { createDurabilityCheck, type DurabilityCheckOptions } from './durability-check.js';
export {
  type IntegerOptionRule,
  integerOption,
  invalidOption,
  storeClosed,
  storeUnavailable,
} from './errors.js';
export {
  bodySchema,
  eventSchema,
  resolveResourceKind,
  resourceSchema,
  toEvent,
  type WireEvent,
} from './events.js';
export {
  type ClaimResult,
  isTransactionalStore,
  type ProcessOnceResult,
} from './idempotency-store.js';
export {
  type InboxDurabilityOptions,
  type InboxRetentionOptions,
  inboxDefaults,
  inboxDurability,
  inboxRetention,
} from './inbox-defaults.js';
export { type InboxRow, inboxColumns, inboxSelectList, toInboxEntry } from './inbox-row.js';
export {
  appendInboxHistory,
  type CheckedInboxSearch,
  checkInboxFilter,
  checkInboxSearch,
  inboxAttemptItem,
  inboxCursor,
  inboxCursorId,
  matchesInboxFilter,
  replayableInboxFilter,
  sweptInboxStates,
} from './inbox-search.js';
export {
  countInboxStates,
  inboxStateList,
  inboxStateLiterals,
  isUnfinishedInboxState,
  type UnfinishedInboxState,
  unfinishedInboxStates,
} from './inbox-states.js';
export {
  type InboxAttempt,
  type InboxFailure,
  type InboxLease,
  type InboxQuery,
  type InboxRecord,
  isTransactionalInbox,
} from './inbox-store.js';
export { canonicalIpAddress, parseIpAddress } from './ip-allowlist.js';
export { isWireEvent } from './parse-events.js';
export { rateGateIntervalUs } from './rate-gate.js';
export { type TableNameRule, tableNameOption } from './table-name.js';
export {
  fromWebRequest,
  readBodyWithLimit,
  toWebResponse,
  type WebhookBody,
  type WebhookRequest,
  type WebhookResponse,
} from './webhook-request.js';
export type { DeliveryHandler } from './webhooks.js';
