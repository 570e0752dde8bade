import { documentedExample } from '../../create-event.js';
import { buildEvents } from '../build-events.js';
import type { CliIo } from '../cli-io.js';
import { print } from '../cli-io.js';
import { exampleHelp } from '../help.js';
import { eventOptions, parseCommandArgs } from '../parse-args.js';

/** `c2p example [event-type] [options]`: print a sample body; bare, the documented one. */
export async function example(args: string[], io: CliIo): Promise<number> {
  const { flags, positionals } = parseCommandArgs('example', args, {
    options: eventOptions,
    env: io.env,
  });
  if (flags.has('help')) {
    print(io, exampleHelp);
    return 0;
  }
  if (positionals.length === 0 && flags.given().length === 0) {
    print(io, JSON.stringify(documentedExample(), null, 2));
    return 0;
  }
  const { bodies } = buildEvents(flags, positionals[0]);
  for (const body of bodies) print(io, JSON.stringify(body, null, 2));
  return 0;
}
