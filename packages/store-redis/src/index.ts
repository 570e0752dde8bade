export type { RedisInbox, RedisInboxOptions } from './redis-inbox.js';
export { createRedisInbox } from './redis-inbox.js';
export type { RedisClientLike, RedisStore, RedisStoreOptions } from './redis-store.js';
export { createRedisStore } from './redis-store.js';
