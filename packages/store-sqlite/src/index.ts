export type { SqliteSynchronous, SqliteTransaction } from './sqlite-connection.js';
export type { SqliteInbox, SqliteInboxOptions } from './sqlite-inbox.js';
export { createSqliteInbox } from './sqlite-inbox.js';
export type { SqliteStore, SqliteStoreOptions } from './sqlite-store.js';
export { createSqliteStore } from './sqlite-store.js';
