/**
 * `@c2p/core/kit`: helpers for adapter and store authors. Users need none of
 * these; they are versioned with core all the same.
 * @packageDocumentation
 */
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
export { isTransactionalStore } from './idempotency-store.js';
export { isTransactionalInbox } from './inbox-store.js';
export { canonicalIpAddress, parseIpAddress } from './ip-allowlist.js';
export { isWireEvent } from './parse-events.js';
export { fromWebRequest, readBodyWithLimit, toWebResponse } from './webhook-request.js';
