/**
 * @c2p/testing: event factories and a delivery simulator that behaves like
 * Clik2pay. The conformance suites are separate entries:
 * `@c2p/testing/adapter-conformance` and `@c2p/testing/store-conformance`.
 */

export { createBasicAuthorization } from './create-basic-authorization.js';
export type { BodyShape, CreateBodyOptions, FactoryBody } from './create-body.js';
export { createBody } from './create-body.js';
export type {
  Clik2payMock,
  Clik2payMockOptions,
  MockFault,
  MockPaymentRequest,
  MockSettlement,
  MockSettleResult,
  MockStats,
} from './create-clik2pay-mock.js';
export { createClik2payMock } from './create-clik2pay-mock.js';
export type {
  CreateEventOptions,
  FactoryEvent,
  FactoryEventType,
  FactoryPaymentRequestResource,
  FactoryPaymentResource,
  FactoryResourceKind,
  PaymentRequestWireEvent,
  PaymentWireEvent,
} from './create-event.js';
export {
  createEvent,
  defaultStatus,
  documentedExample,
  resourceTypeSpellings,
} from './create-event.js';
export type {
  DeliverManyOptions,
  DeliverOptions,
  DeliveryAttempt,
  DeliveryAttemptOutcome,
  DeliveryConnectionOptions,
  DeliveryIdentity,
  DeliveryOrder,
  DeliveryResult,
  DeliveryRunEntry,
  DeliveryRunResult,
} from './deliver.js';
export { deliver, deliverMany } from './deliver.js';
