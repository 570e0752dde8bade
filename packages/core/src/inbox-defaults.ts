import { integerOption, invalidOption } from './errors.js';

/**
 * What every inbox defaults to, written once: a store takes these and adds only
 * its storage (as Powertools' `BasePersistenceLayer` holds its stores' defaults).
 */
export const inboxDefaults = {
  /**
   * How long a processed event (and a sync store's completed key) is kept for
   * deduplication, in ms: 30 days, longer than any provider's retries.
   */
  retainMs: 30 * 24 * 60 * 60 * 1000,
  /** How many processed events one `sweep()` deletes at most. */
  sweepBatch: 1000,
  /** How many events `list()` answers when the query names no `limit`. */
  listLimit: 50,
  /** The most an operator's listing asks for at once (an admin API's bound; stores do not cap it). */
  listLimitMax: 500,
  /** How many history items each event keeps: its newest 50 attempts and operator actions. */
  historyLimit: 50,
  /** How long a passed durability check is trusted before it is read again, in ms. */
  durabilityCheckMs: 10_000,
} as const;

/** The retention options every inbox takes. */
export interface InboxRetentionOptions {
  retainMs?: number;
  sweepBatch?: number;
}

/**
 * Checks an inbox's `retainMs` and `sweepBatch` and answers them, defaults
 * applied; a bad value throws naming its option path and `pkg`.
 */
export function inboxRetention(
  options: InboxRetentionOptions,
  pkg?: string,
): { readonly retainMs: number; readonly sweepBatch: number } {
  return {
    retainMs: integerOption(options.retainMs, 'options.retainMs', {
      fallback: inboxDefaults.retainMs,
      pkg,
    }),
    sweepBatch: integerOption(options.sweepBatch, 'options.sweepBatch', {
      fallback: inboxDefaults.sweepBatch,
      pkg,
    }),
  };
}

/** The durability options of an inbox that can check its server's settings. */
export interface InboxDurabilityOptions {
  durability?: 'verify' | 'trust';
  durabilityCheckMs?: number;
}

/**
 * Checks `durability` (`'verify'`, the default, or `'trust'`) and
 * `durabilityCheckMs` and answers them, defaults applied.
 */
export function inboxDurability(
  options: InboxDurabilityOptions,
  pkg?: string,
): { readonly durability: 'verify' | 'trust'; readonly durabilityCheckMs: number } {
  const durability = options.durability ?? 'verify';
  if (durability !== 'verify' && durability !== 'trust') {
    throw invalidOption('options.durability', `must be 'verify' or 'trust'`, pkg);
  }
  const durabilityCheckMs = integerOption(options.durabilityCheckMs, 'options.durabilityCheckMs', {
    min: 0,
    fallback: inboxDefaults.durabilityCheckMs,
    pkg,
  });
  return { durability, durabilityCheckMs };
}
