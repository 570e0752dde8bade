export * from './errors.js';
export * from './events.js';
export * from './idempotency-store.js';
export * from './memory-store.js';
