import { inboxDefaults } from './inbox-defaults.js';

/**
 * The defaults the pipeline and the worker share, written once. Stores keep
 * their own storage defaults (retention, list limits) in the kit.
 */

/** A lease that is renewed while handlers run (every third of it): short, so a crashed owner's event frees soon. */
export const RENEWED_LEASE_MS = 10_000;
/** A lease that cannot be renewed (a store without `renew()`) must outlast the handlers. */
export const FIXED_LEASE_MS = 60_000;
/**
 * How long sync mode remembers a completed key: Clik2pay's retries and late
 * duplicates fall well inside. The inboxes' retention, the same fact.
 */
export const COMPLETED_RETAIN_MS = inboxDefaults.retainMs;
/** The largest delivery body, in bytes. */
export const MAX_BODY_BYTES = 65_536;
/**
 * The most events one delivery may hold. Clik2pay sends one event per delivery,
 * and a real event is 350 to 700 bytes, so a 64 KiB body of genuine events holds
 * at most about 100 anyway; the cap refuses only floods of tiny events, whose
 * one commit (a delivery is stored whole or not at all) would hold up the others.
 */
export const MAX_EVENTS = 100;
/** Handler attempts in flight per worker. */
export const WORKER_CONCURRENCY = 4;
/** How often a worker looks for due events when nothing wakes it, in ms. */
export const POLL_INTERVAL_MS = 1_000;
/** How often a worker deletes processed events past the inbox's retention, in ms. */
export const SWEEP_INTERVAL_MS = 60_000;
/** Handler failures in a row before a worker's circuit breaker opens. */
export const BREAKER_FAILURES = 5;
/** The first pause of an open breaker, in ms. */
export const BREAKER_OPEN_MS = 30_000;
/** The longest pause of an open breaker, reached by doubling while its probes fail, in ms. */
export const BREAKER_MAX_OPEN_MS = 300_000;
