export type { SqliteSynchronous, SqliteTransaction } from './sqlite-connection.js';
export type { SqliteInbox, SqliteInboxOptions } from './sqlite-inbox.js';
export { createSqliteInbox } from './sqlite-inbox.js';
export type { SqliteRateGate, SqliteRateGateOptions } from './sqlite-rate-gate.js';
export { createSqliteRateGate } from './sqlite-rate-gate.js';
export type { SqliteStore, SqliteStoreOptions } from './sqlite-store.js';
export { createSqliteStore } from './sqlite-store.js';
