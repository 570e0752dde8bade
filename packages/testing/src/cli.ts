#!/usr/bin/env node
import { readFileSync } from 'node:fs';
import type { ParseArgsConfig } from 'node:util';
import { parseArgs } from 'node:util';
import type { BodyShape } from './create-body.js';
import { createBody } from './create-body.js';
import type { FactoryEvent, FactoryResourceKind } from './create-event.js';
import { createEvent, documentedExample } from './create-event.js';
import type { AttemptReport, DeliveryIdentity, DeliveryOrder } from './deliver.js';
import { deliverMany } from './deliver.js';

/** A mistake in how c2p was called: one line on stderr, exit code 2. */
class UsageError extends Error {}

const knownEventTypes = [
  'PAYMENT-COMPLETED',
  'PAYMENT-FAILED',
  'PAYMENT-LINK-FOLLOWED',
  'PAYMENT-PROCESSING',
];

const mainHelp = `c2p: send Clik2pay-style webhook deliveries to a receiver

Usage:
  c2p send <event-type> [options]   build an event and deliver it
  c2p replay <file|->   [options]   deliver a body exactly as given
  c2p example [event-type] [options] print a sample body

Run c2p <command> --help for its options.
Exit codes: 0 all delivered, 1 a delivery failed after its last attempt, 2 bad usage.`;

const deliveryHelp = `Delivery options:
  --url <url>              receiver URL (env C2P_URL)
  --username <name>        Basic user-id (env C2P_WEBHOOK_USERNAME)
  --password <secret>      Basic password (env C2P_WEBHOOK_PASSWORD; prefer the
                           variable, so the secret stays out of shell history)
  --times <n>              deliver each body n times, as duplicates (default 1)
  --concurrency <n>        deliveries in flight at once (default 1)
  --order <order>          as-given, reverse or shuffle (default as-given)
  --forwarded-for <ips>    send this X-Forwarded-For header
  --ca <file>              trust this PEM CA for https (env C2P_CA_FILE)
  --insecure               do not verify the https certificate (local only)
  --attempts <n>           attempts per delivery in all (default 3, as Clik2pay)
  --backoff <ms>           first wait before a retry, doubled after (default 1000)
  --timeout <ms>           per-attempt timeout (default 10000)
  --json                   print one JSON result instead of progress lines
  -h, --help               show this help`;

const eventHelp = `Event options:
  --kind <kind>            payment-request (default) or payment (a refund)
  --resource-type <text>   resourceType spelling, e.g. "Payments API" (default: the kind)
  --id <id>                resource id (default: a fresh UUID per event)
  --status <status>        resource status (default: PAID, ACCEPTED for a refund,
                           FAILED, or ACTIVE, by event type)
  --amount <cad>           amount in CAD (default 1)
  --events <n>             build n events (default 1)
  --shape <shape>          array (default, as documented: one body holding the events)
                           or object (each event its own delivery)`;

const sendHelp = `Usage: c2p send <event-type> [options]

Builds an event and delivers it the way Clik2pay does: a JSON POST with Basic
auth, delivered on a 2xx, otherwise tried again, three attempts in all.
<event-type> is one of ${knownEventTypes.join(', ')}
(any case), or any other name to test how a receiver takes an unknown type.

${eventHelp}

${deliveryHelp}

Example:
  C2P_WEBHOOK_USERNAME=clik2pay C2P_WEBHOOK_PASSWORD=secret \\
    c2p send payment-completed --url http://localhost:3001/webhooks/clik2pay --times 3`;

const replayHelp = `Usage: c2p replay <file|-> [options]

Delivers the file's bytes (or stdin's, for -) exactly as given, unvalidated,
with Clik2pay's retries.

${deliveryHelp}`;

const exampleHelp = `Usage: c2p example [event-type] [options]

Prints a sample body. Without an event type or options, prints the documented
example exactly as Clik2pay's page shows it.

${eventHelp}
  -h, --help               show this help`;

const deliveryOptions = {
  url: { type: 'string' },
  username: { type: 'string' },
  password: { type: 'string' },
  times: { type: 'string' },
  concurrency: { type: 'string' },
  order: { type: 'string' },
  'forwarded-for': { type: 'string' },
  ca: { type: 'string' },
  insecure: { type: 'boolean' },
  attempts: { type: 'string' },
  backoff: { type: 'string' },
  timeout: { type: 'string' },
  json: { type: 'boolean' },
  help: { type: 'boolean', short: 'h' },
} as const;

const eventOptions = {
  kind: { type: 'string' },
  'resource-type': { type: 'string' },
  id: { type: 'string' },
  status: { type: 'string' },
  amount: { type: 'string' },
  events: { type: 'string' },
  shape: { type: 'string' },
  help: { type: 'boolean', short: 'h' },
} as const;

type Values = Record<string, string | boolean | undefined>;

function parse(
  command: string,
  args: string[],
  options: NonNullable<ParseArgsConfig['options']>,
  maxPositionals: number,
): { values: Values; positionals: string[] } {
  try {
    const { values, positionals } = parseArgs({
      args,
      options,
      allowPositionals: true,
      strict: true,
    });
    if (positionals.length > maxPositionals) {
      throw new UsageError(`unexpected argument '${positionals[maxPositionals]}'`);
    }
    return { values: values as Values, positionals };
  } catch (error) {
    if (error instanceof UsageError)
      throw new UsageError(`${error.message} (see c2p ${command} --help)`);
    const message = error instanceof Error ? error.message : String(error);
    // parseArgs explains at length; its first sentence is the one that matters.
    const first = (message.split(/\.\s/)[0] ?? message).replace(/\.$/, '');
    throw new UsageError(`${first} (see c2p ${command} --help)`);
  }
}

function text(values: Values, name: string, env?: string): string | undefined {
  const value = values[name];
  if (typeof value === 'string') return value;
  const fromEnv = env === undefined ? undefined : process.env[env];
  return fromEnv === '' ? undefined : fromEnv;
}

function count(values: Values, name: string, fallback: number): number {
  const raw = text(values, name);
  if (raw === undefined) return fallback;
  const value = Number(raw);
  if (!/^\d+$/.test(raw) || value < 1) {
    throw new UsageError(`--${name}: "${raw}" is not a whole number >= 1`);
  }
  return value;
}

function milliseconds(values: Values, name: string, fallback: number, allowZero: boolean): number {
  const raw = text(values, name);
  if (raw === undefined) return fallback;
  const value = Number(raw);
  if (raw.trim() === '' || !Number.isFinite(value) || value < 0 || (!allowZero && value === 0)) {
    throw new UsageError(`--${name}: "${raw}" is not a number of milliseconds`);
  }
  return value;
}

function oneOf<T extends string>(
  values: Values,
  name: string,
  allowed: readonly T[],
  fallback: T,
): T {
  const raw = text(values, name);
  if (raw === undefined) return fallback;
  if (!(allowed as readonly string[]).includes(raw)) {
    throw new UsageError(`--${name}: "${raw}" is not one of ${allowed.join(', ')}`);
  }
  return raw as T;
}

function readFile(path: string, what: string): Buffer {
  try {
    return readFileSync(path === '-' ? 0 : path);
  } catch (error) {
    const code = (error as { code?: unknown }).code;
    throw new UsageError(
      `${what}: cannot read "${path}"${typeof code === 'string' ? ` (${code})` : ''}`,
    );
  }
}

function buildEvents(
  values: Values,
  eventTypeArg: string | undefined,
): {
  events: FactoryEvent[];
  shape: BodyShape;
} {
  let eventType = 'PAYMENT-COMPLETED';
  if (eventTypeArg !== undefined) {
    const upper = eventTypeArg.toUpperCase();
    eventType = knownEventTypes.includes(upper) ? upper : eventTypeArg;
    if (eventType.trim() === '') throw new UsageError('<event-type> is empty');
  }
  const kind = oneOf<FactoryResourceKind>(
    values,
    'kind',
    ['payment-request', 'payment'],
    'payment-request',
  );
  const shape = oneOf<BodyShape>(values, 'shape', ['array', 'object'], 'array');
  const rawAmount = text(values, 'amount');
  const amount = rawAmount === undefined ? undefined : Number(rawAmount);
  if (rawAmount !== undefined && (rawAmount.trim() === '' || !Number.isFinite(amount))) {
    throw new UsageError(`--amount: "${rawAmount}" is not a number`);
  }
  const n = count(values, 'events', 1);
  const events = Array.from({ length: n }, () =>
    createEvent({
      eventType,
      kind,
      id: text(values, 'id'),
      status: text(values, 'status'),
      amount,
      resourceType: text(values, 'resource-type'),
    }),
  );
  return { events, shape };
}

function isKnown(eventType: string): boolean {
  return knownEventTypes.includes(eventType);
}

function formatAttempt(
  report: AttemptReport,
  delivery: DeliveryIdentity,
  attempts: number,
  total: number,
): string {
  const who = total > 1 ? `#${delivery.index + 1} ` : '';
  const result =
    report.outcome === 'delivered'
      ? `${report.status} delivered`
      : report.status !== null
        ? `${report.status} not delivered`
        : `${report.outcome}: ${report.error}`;
  let body = '';
  if (report.responseBody !== null) {
    const summary =
      report.outcome === 'delivered' ? receiverSummary(report.responseBody) : undefined;
    body = `  ${summary ?? oneLine(report.responseBody)}`;
  }
  return `${who}attempt ${report.attempt}/${attempts}  ${result}  ${Math.round(report.durationMs)} ms${body}`;
}

/**
 * `processed 1, duplicates 0` for c2p's own answer `{received, processed, duplicates}`,
 * so a duplicate shows without --json; `undefined` for any other body.
 */
function receiverSummary(body: string): string | undefined {
  let value: unknown;
  try {
    value = JSON.parse(body);
  } catch {
    return undefined;
  }
  if (typeof value !== 'object' || value === null) return undefined;
  const { received, processed, duplicates } = value as Record<string, unknown>;
  if (![received, processed, duplicates].every((n) => typeof n === 'number')) return undefined;
  return `processed ${processed}, duplicates ${duplicates}`;
}

function oneLine(value: string): string {
  const flat = value.replace(/\s+/g, ' ').trim();
  return flat.length > 160 ? `${flat.slice(0, 157)}...` : flat;
}

async function runDeliveries(
  values: Values,
  bodies: unknown[],
  describe: string,
  extra: Record<string, unknown>,
  note?: string,
): Promise<number> {
  const url = text(values, 'url', 'C2P_URL');
  if (url === undefined) throw new UsageError('missing --url (or C2P_URL)');
  const username = text(values, 'username', 'C2P_WEBHOOK_USERNAME');
  const password = text(values, 'password', 'C2P_WEBHOOK_PASSWORD');
  if ((username === undefined) !== (password === undefined)) {
    throw new UsageError(
      username === undefined
        ? 'a password was given without --username (or C2P_WEBHOOK_USERNAME)'
        : 'missing --password (or C2P_WEBHOOK_PASSWORD) for the username',
    );
  }
  if (username?.includes(':')) {
    throw new UsageError('--username: a Basic user-id cannot contain ":" (RFC 7617)');
  }
  if (!URL.canParse(url) || !/^https?:$/.test(new URL(url).protocol)) {
    throw new UsageError(`--url: "${url}" is not an http: or https: URL`);
  }
  const caFile = text(values, 'ca', 'C2P_CA_FILE');
  const attempts = count(values, 'attempts', 3);
  const times = count(values, 'times', 1);
  const json = values.json === true;
  const total = bodies.length * times;
  const forwardedFor = text(values, 'forwarded-for');

  const options = {
    url,
    username,
    password,
    bodies,
    times,
    attempts,
    concurrency: count(values, 'concurrency', 1),
    order: oneOf<DeliveryOrder>(values, 'order', ['as-given', 'reverse', 'shuffle'], 'as-given'),
    backoffMs: milliseconds(values, 'backoff', 1000, true),
    timeoutMs: milliseconds(values, 'timeout', 10_000, false),
    ...(forwardedFor === undefined ? {} : { forwardedFor }),
    ...(caFile === undefined ? {} : { ca: readFile(caFile, '--ca').toString('utf8') }),
    insecure: values.insecure === true,
    onAttempt: json
      ? undefined
      : (report: AttemptReport, delivery: DeliveryIdentity) =>
          console.log(formatAttempt(report, delivery, attempts, total)),
  };

  if (note !== undefined) console.error(`c2p: note: ${note}`);
  if (username === undefined) {
    // Still send: a receiver's 401 is worth testing, but three silent 401s puzzle a newcomer.
    console.error(
      'c2p: warning: no credentials given (--username/--password or C2P_WEBHOOK_USERNAME/C2P_WEBHOOK_PASSWORD); sending without Authorization',
    );
  }
  if (!json) {
    const copies = times > 1 ? ` x${times}` : '';
    console.log(`POST ${url}  ${describe}${copies}`);
    if (options.insecure)
      console.error('c2p: warning: --insecure: the certificate is not verified');
  }
  let run: Awaited<ReturnType<typeof deliverMany>>;
  try {
    run = await deliverMany(options);
  } catch (error) {
    // The library throws only for bad options (a malformed URL, a colon in the username).
    const message = error instanceof Error ? error.message : String(error);
    throw new UsageError(message.replace(/^\[@c2p\/testing\] (options\.)?/, ''));
  }
  const attemptCount = run.deliveries.reduce((sum, d) => sum + d.attempts.length, 0);
  if (json) {
    console.log(JSON.stringify({ ...extra, url, ...run }, null, 2));
  } else {
    console.log(
      `${run.ok ? 'ok' : 'FAILED'}: ${run.delivered}/${run.deliveries.length} delivered, ${run.failed} failed (${attemptCount} attempts in all)`,
    );
  }
  return run.ok ? 0 : 1;
}

async function send(args: string[]): Promise<number> {
  const { values, positionals } = parse('send', args, { ...deliveryOptions, ...eventOptions }, 1);
  if (values.help) {
    console.log(sendHelp);
    return 0;
  }
  const [eventTypeArg] = positionals;
  if (eventTypeArg === undefined)
    throw new UsageError('missing <event-type> (see c2p send --help)');
  const { events, shape } = buildEvents(values, eventTypeArg);
  const bodies =
    shape === 'array' ? [createBody(events)] : events.map((e) => createBody(e, { shape }));
  const [first] = events;
  const note =
    first !== undefined && !isKnown(first.eventType)
      ? `"${first.eventType}" is not a documented event type; sending it as is`
      : undefined;
  const ids = events.map((e) => e.resource.id);
  const describe = `${first?.eventType} ${first?.resource.status} ${text(values, 'kind') ?? 'payment-request'} ${ids.length === 1 ? ids[0] : `(${ids.length} events, ${shape === 'array' ? 'one body' : 'one body each'})`}`;
  return runDeliveries(values, bodies, describe, { events: events.map(summarise) }, note);
}

function summarise(event: FactoryEvent): Record<string, unknown> {
  return {
    eventType: event.eventType,
    resourceType: event.resourceType,
    id: event.resource.id,
    status: event.resource.status,
    amount: event.resource.amount,
  };
}

async function replay(args: string[]): Promise<number> {
  const { values, positionals } = parse('replay', args, deliveryOptions, 1);
  if (values.help) {
    console.log(replayHelp);
    return 0;
  }
  const [file] = positionals;
  if (file === undefined) throw new UsageError('missing <file|-> (see c2p replay --help)');
  const body = new Uint8Array(readFile(file, 'replay'));
  const from = file === '-' ? 'stdin' : file;
  return runDeliveries(values, [body], `${from} (${body.byteLength} bytes)`, { file: from });
}

function example(args: string[]): number {
  const { values, positionals } = parse('example', args, eventOptions, 1);
  if (values.help) {
    console.log(exampleHelp);
    return 0;
  }
  const factoryFlags = Object.keys(values).filter((name) => name !== 'help');
  if (positionals.length === 0 && factoryFlags.length === 0) {
    console.log(JSON.stringify(documentedExample(), null, 2));
    return 0;
  }
  const { events, shape } = buildEvents(values, positionals[0]);
  const bodies =
    shape === 'array' ? [createBody(events)] : events.map((e) => createBody(e, { shape }));
  for (const body of bodies) console.log(JSON.stringify(body, null, 2));
  return 0;
}

async function main(argv: string[]): Promise<number> {
  const [command, ...rest] = argv;
  switch (command) {
    case 'send':
      return send(rest);
    case 'replay':
      return replay(rest);
    case 'example':
      return example(rest);
    case '-h':
    case '--help':
    case 'help':
      console.log(mainHelp);
      return 0;
    case undefined:
      throw new UsageError('missing command (see c2p --help)');
    default:
      throw new UsageError(`unknown command '${command}' (see c2p --help)`);
  }
}

main(process.argv.slice(2)).then(
  (code) => {
    process.exitCode = code;
  },
  (error: unknown) => {
    if (error instanceof UsageError) {
      console.error(`c2p: ${error.message}`);
      process.exitCode = 2;
      return;
    }
    console.error(`c2p: ${error instanceof Error ? error.message : String(error)}`);
    process.exitCode = 1;
  },
);
