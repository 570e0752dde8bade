import type { CliIo } from '../cli-io.js';
import { print } from '../cli-io.js';
import { deliverBodies } from '../deliver-bodies.js';
import { replayHelp } from '../help.js';
import { deliveryOptions, parseCommandArgs } from '../parse-args.js';
import { readInput } from '../read-input.js';
import { UsageError } from '../usage-error.js';

/** `c2p replay <file|-> [options]`: deliver a body's bytes exactly as given. */
export async function replay(args: string[], io: CliIo): Promise<number> {
  const { flags, positionals } = parseCommandArgs('replay', args, {
    options: deliveryOptions,
    env: io.env,
  });
  if (flags.has('help')) {
    print(io, replayHelp);
    return 0;
  }
  const [file] = positionals;
  if (file === undefined) throw new UsageError('missing <file|-> (see c2p replay --help)');
  const body = await readInput(file, 'replay', io);
  const from = file === '-' ? 'stdin' : file;
  return deliverBodies(flags, io, {
    bodies: [body],
    describe: `${from} (${body.byteLength} bytes)`,
    extra: { file: from },
  });
}
