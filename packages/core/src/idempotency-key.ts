import type { C2pEvent } from './events.js';

/**
 * The default idempotency key: `kind:resource.id:eventType:status`. Clik2pay
 * sends no delivery id, so two deliveries of the same event agree on it, and a
 * later status of the same resource gets a key of its own.
 */
export function defaultIdempotencyKey(event: C2pEvent): string {
  return `${event.kind}:${event.resource.id}:${event.eventType}:${event.resource.status ?? ''}`;
}
