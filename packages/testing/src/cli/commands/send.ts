import { isKnownEventType } from '@c2p/core';
import { buildEvents } from '../build-events.js';
import type { CliIo } from '../cli-io.js';
import { print } from '../cli-io.js';
import { deliverBodies } from '../deliver-bodies.js';
import { summariseEvent } from '../format.js';
import { sendHelp } from '../help.js';
import { deliveryOptions, eventOptions, parseCommandArgs } from '../parse-args.js';
import { UsageError } from '../usage-error.js';

/** `c2p send <event-type> [options]`: build events and deliver them. */
export async function send(args: string[], io: CliIo): Promise<number> {
  const { flags, positionals } = parseCommandArgs('send', args, {
    options: { ...deliveryOptions, ...eventOptions },
    env: io.env,
  });
  if (flags.has('help')) {
    print(io, sendHelp);
    return 0;
  }
  const [eventTypeArg] = positionals;
  if (eventTypeArg === undefined) {
    throw new UsageError('missing <event-type> (see c2p send --help)');
  }
  const { events, shape, bodies } = buildEvents(flags, eventTypeArg);
  const [first] = events;
  const ids = events.map((e) => e.resource.id);
  const what =
    ids.length === 1
      ? ids[0]
      : `(${ids.length} events, ${shape === 'array' ? 'one body' : 'one body each'})`;
  return deliverBodies(flags, io, {
    bodies,
    describe: `${first?.eventType} ${first?.resource.status} ${flags.text('kind') ?? 'payment-request'} ${what}`,
    extra: { events: events.map(summariseEvent) },
    ...(first !== undefined && !isKnownEventType(first.eventType)
      ? {
          note: `"${first.eventType}" is not a documented event type; sending it as typed (--allow-unknown)`,
        }
      : {}),
  });
}
