import type { BodyShape } from '../create-body.js';
import { createBody } from '../create-body.js';
import type { FactoryEvent, FactoryResourceKind } from '../create-event.js';
import { createEvent } from '../create-event.js';
import { resolveEventType } from './event-type.js';
import type { Flags } from './parse-args.js';
import { resourceFields } from './resource-fields.js';

/** The events `send` and `example` build from the event options, and their bodies. */
export interface BuiltEvents {
  events: FactoryEvent[];
  shape: BodyShape;
  /** One body holding every event (`array`), or one body per event (`object`). */
  bodies: unknown[];
}

/**
 * Builds `--events` events of `eventTypeArg` (a documented type in any case; any
 * other name only with `--allow-unknown`; `PAYMENT-COMPLETED` when absent).
 */
export function buildEvents(flags: Flags, eventTypeArg: string | undefined): BuiltEvents {
  const eventType =
    eventTypeArg === undefined
      ? 'PAYMENT-COMPLETED'
      : resolveEventType(eventTypeArg, flags.has('allow-unknown'));
  const kind = flags.oneOf<FactoryResourceKind>(
    'kind',
    ['payment-request', 'payment'],
    'payment-request',
  );
  const shape = flags.oneOf<BodyShape>('shape', ['array', 'object'], 'array');
  const amount = flags.number('amount');
  const resource = resourceFields(flags, kind);
  const events = Array.from({ length: flags.count('events', 1) }, () =>
    createEvent({
      eventType,
      kind,
      id: flags.text('id'),
      status: flags.text('status'),
      amount,
      resourceType: flags.text('resource-type'),
      resource,
    }),
  );
  const bodies =
    shape === 'array' ? [createBody(events)] : events.map((e) => createBody(e, { shape }));
  return { events, shape, bodies };
}
