export type { RedisInbox, RedisInboxOptions } from './redis-inbox.js';
export { createRedisInbox } from './redis-inbox.js';
export type { RedisRateGate, RedisRateGateOptions } from './redis-rate-gate.js';
export { createRedisRateGate } from './redis-rate-gate.js';
export type { RedisClientLike, RedisStore, RedisStoreOptions } from './redis-store.js';
export { createRedisStore } from './redis-store.js';
