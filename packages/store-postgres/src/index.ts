export type { PostgresInbox, PostgresInboxOptions } from './postgres-inbox.js';
export { createPostgresInbox } from './postgres-inbox.js';
export type { PostgresRateGate, PostgresRateGateOptions } from './postgres-rate-gate.js';
export { createPostgresRateGate } from './postgres-rate-gate.js';
export type { PostgresStore, PostgresStoreOptions } from './postgres-store.js';
export { createPostgresStore } from './postgres-store.js';
