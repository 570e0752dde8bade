import { eventTypes } from '@c2p/core';
import { UsageError } from './usage-error.js';

/**
 * The `eventType` to send for what the user typed: a documented type in any
 * case, in its documented spelling. Anything else is refused with the nearest
 * documented type, unless `allowUnknown` (then it is sent exactly as typed): a
 * typo would otherwise reach the receiver as an unknown event, answered 200.
 */
export function resolveEventType(typed: string, allowUnknown: boolean): string {
  if (typed.trim() === '') throw new UsageError('<event-type> is empty');
  const upper = typed.toUpperCase();
  if ((eventTypes as readonly string[]).includes(upper)) return upper;
  if (allowUnknown) return typed;
  const nearest = nearestEventType(typed);
  const hint =
    nearest === undefined
      ? `the documented types are ${eventTypes.map((t) => t.toLowerCase()).join(', ')}`
      : `did you mean ${nearest.toLowerCase()}?`;
  throw new UsageError(
    `unknown event type "${typed}": ${hint} (--allow-unknown sends it as typed)`,
  );
}

/** The documented event type closest to `typed`, if one is close enough to be a typo. */
export function nearestEventType(typed: string): string | undefined {
  const wanted = typed.toUpperCase().replace(/[_\s]/g, '-');
  let best: { type: string; distance: number } | undefined;
  for (const type of eventTypes) {
    const distance = editDistance(wanted, type);
    if (best === undefined || distance < best.distance) best = { type, distance };
  }
  // A third of the name may differ: `payment-complete` and `PAYMENT_FAILD` are typos;
  // `payment-refunded` is another name, not a typo.
  return best !== undefined && best.distance <= Math.max(2, Math.floor(best.type.length / 3))
    ? best.type
    : undefined;
}

/** Levenshtein distance, one row at a time. */
function editDistance(a: string, b: string): number {
  let previous = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    const row = [i];
    for (let j = 1; j <= b.length; j++) {
      const substitution = (previous[j - 1] ?? 0) + (a[i - 1] === b[j - 1] ? 0 : 1);
      row.push(Math.min((previous[j] ?? 0) + 1, (row[j - 1] ?? 0) + 1, substitution));
    }
    previous = row;
  }
  return previous[b.length] ?? 0;
}
