import type { DeliveryAttempt, DeliveryIdentity, DeliveryOrder } from '../deliver.js';
import { checkDeliverManyOptions, deliverMany } from '../deliver.js';
import type { CliIo } from './cli-io.js';
import { print, warn } from './cli-io.js';
import { formatAttempt, formatRunSummary } from './format.js';
import { hintsFor } from './hints.js';
import type { Flags } from './parse-args.js';
import { readInput } from './read-input.js';
import { UsageError } from './usage-error.js';

/** What `send` and `replay` deliver, and how they describe it. */
export interface Delivery {
  bodies: unknown[];
  /** The heading's description, after `POST <url>`. */
  describe: string;
  /** Merged into the `--json` result. */
  extra: Record<string, unknown>;
  /** Printed on stderr before sending. */
  note?: string;
}

/**
 * Delivers `bodies` with the delivery options, printing progress (or one JSON
 * result), and answers the exit code: 0 when every delivery got a 2xx, else 1.
 */
export async function deliverBodies(flags: Flags, io: CliIo, delivery: Delivery): Promise<number> {
  const url = flags.text('url', 'C2P_URL');
  if (url === undefined) throw new UsageError('missing --url (or C2P_URL)');
  const { username, password } = readCredentials(flags);
  const caFile = flags.text('ca', 'C2P_CA_FILE');
  const attempts = flags.count('attempts', 3);
  const times = flags.count('times', 1);
  const json = flags.has('json');
  const insecure = flags.has('insecure');
  const total = delivery.bodies.length * times;
  const forwardedFor = flags.text('forwarded-for');
  const options = {
    url,
    username,
    password,
    bodies: delivery.bodies,
    times,
    attempts,
    concurrency: flags.count('concurrency', 1),
    order: flags.oneOf<DeliveryOrder>('order', ['as-given', 'reverse', 'shuffle'], 'as-given'),
    backoffMs: flags.milliseconds('backoff', 1000, true),
    timeoutMs: flags.milliseconds('timeout', 10_000, false),
    insecure,
    ...(forwardedFor === undefined ? {} : { forwardedFor }),
    ...(caFile === undefined
      ? {}
      : { ca: new TextDecoder().decode(await readInput(caFile, '--ca', io)) }),
    onAttempt: json ? undefined : printAttempts(io, { attempts, total }),
  };

  // The library's own checks (URL, user-id, ...), before anything is printed: a refusal
  // is an OptionError naming the option, which run() reports as its flag, exit 2.
  checkDeliverManyOptions(options);
  if (delivery.note !== undefined) warn(io, `note: ${delivery.note}`);
  if (username === undefined) {
    // Still send: a receiver's 401 is worth testing, but three silent 401s puzzle a newcomer.
    warn(
      io,
      'warning: no credentials given (--username/--password or C2P_WEBHOOK_USERNAME/C2P_WEBHOOK_PASSWORD); sending without Authorization',
    );
  }
  if (!json) {
    print(io, `POST ${url}  ${delivery.describe}${times > 1 ? ` x${times}` : ''}`);
    if (insecure) warn(io, 'warning: --insecure: the certificate is not verified');
  }
  const run = await deliverMany(options);
  print(
    io,
    json ? JSON.stringify({ ...delivery.extra, url, ...run }, null, 2) : formatRunSummary(run),
  );
  for (const hint of hintsFor(run, { url: new URL(url), credentials: username !== undefined }))
    warn(io, `hint: ${hint}`);
  return run.ok ? 0 : 1;
}

function readCredentials(flags: Flags): { username?: string; password?: string } {
  const username = flags.text('username', 'C2P_WEBHOOK_USERNAME');
  const password = flags.text('password', 'C2P_WEBHOOK_PASSWORD');
  if ((username === undefined) !== (password === undefined)) {
    throw new UsageError(
      username === undefined
        ? 'a password was given without --username (or C2P_WEBHOOK_USERNAME)'
        : 'missing --password (or C2P_WEBHOOK_PASSWORD) for the username',
    );
  }
  return { username, password };
}

/** An `onAttempt` printing one line per attempt; a body repeated by a retry is shown once. */
function printAttempts(
  io: CliIo,
  run: { attempts: number; total: number },
): (report: DeliveryAttempt, identity: DeliveryIdentity) => void {
  const previous = new Map<number, DeliveryAttempt>();
  return (report, identity) => {
    const before = previous.get(identity.index);
    previous.set(identity.index, report);
    print(io, formatAttempt(report, identity, { ...run, previous: before }));
  };
}
