import { integerOption } from '@c2p/core/kit';
import { basicAuthorization } from './create-basic-authorization.js';
import { OptionError } from './option-error.js';

/** What became of one attempt. Only `delivered` (a 2xx) stops the retries. */
export type DeliveryAttemptOutcome =
  | 'delivered'
  | 'http-error'
  | 'network-error'
  | 'timeout'
  | 'aborted';

/** One HTTP attempt, as the simulator saw it. */
export interface DeliveryAttempt {
  /** 1-based: Clik2pay tries three times in all. */
  attempt: number;
  outcome: DeliveryAttemptOutcome;
  /** The response status, or `null` when there was no response. */
  status: number | null;
  /** When the attempt started, ISO 8601. */
  startedAt: string;
  /** From sending the request to reading the whole response, or to the failure. */
  durationMs: number;
  /** Why the attempt failed (`ECONNREFUSED: connect ECONNREFUSED 127.0.0.1:9`), or `null`. */
  error: string | null;
  /** The start of the response body (up to 1 KiB), useful to see a receiver's error code. */
  responseBody: string | null;
}

/** The fate of one delivery: every attempt, and whether one got a 2xx. */
export interface DeliveryResult {
  delivered: boolean;
  attempts: DeliveryAttempt[];
}

/** Connection options shared by {@link deliver} and {@link deliverMany}. */
export interface DeliveryConnectionOptions {
  /** The receiver's URL, `http:` or `https:`. */
  url: string | URL;
  /** The Basic user-id. Without `username` and `password` no `Authorization` header is sent. */
  username?: string;
  /** The Basic password; may contain colons and any Unicode. */
  password?: string;
  /** Attempts in all, including the first. Defaults to `3`, as Clik2pay does. */
  attempts?: number;
  /**
   * The wait before each retry. A number is the first wait in ms, doubled for
   * each later retry; a function gets the retry number (1 for the first retry).
   * Clik2pay does not publish its schedule. Defaults to `1000` (1 s, then 2 s).
   */
  backoffMs?: number | ((retry: number) => number);
  /** Per attempt, from sending to the end of the response body. Defaults to `10_000`. */
  timeoutMs?: number;
  /** Sent as `X-Forwarded-For`, to test receivers behind a proxy. */
  forwardedFor?: string;
  /** Extra headers; they override the simulator's own (even `Authorization`). */
  headers?: Record<string, string>;
  /** PEM certificate(s) to trust for `https:` besides the system ones, e.g. a local CA. */
  ca?: string | Uint8Array;
  /**
   * Skip certificate verification for `https:`. Only for a local self-signed
   * setup: it makes the connection open to interception. Defaults to `false`.
   */
  insecure?: boolean;
  /** Stops the delivery, between or during attempts. */
  signal?: AbortSignal;
}

/** Options for {@link deliver}. */
export interface DeliverOptions extends DeliveryConnectionOptions {
  /** A string or bytes are sent exactly as given; anything else as `JSON.stringify(body)`. */
  body: unknown;
  /** Called after each attempt, e.g. to print progress. */
  onAttempt?: (report: DeliveryAttempt) => void;
}

/** The order in which {@link deliverMany} starts its deliveries. */
export type DeliveryOrder = 'as-given' | 'reverse' | 'shuffle';

/** Options for {@link deliverMany}. */
export interface DeliverManyOptions extends DeliveryConnectionOptions {
  /** The bodies to deliver; each as in {@link DeliverOptions.body}. */
  bodies: readonly unknown[];
  /** Deliver each body this many times, as duplicates. Defaults to `1`. */
  times?: number;
  /** Deliveries in flight at once. Defaults to `1` (one after another). */
  concurrency?: number;
  /** Defaults to `as-given`; `reverse` and `shuffle` test out-of-order handling. */
  order?: DeliveryOrder;
  /** The random source for `shuffle`, in [0, 1). Defaults to `Math.random`. */
  random?: () => number;
  /** Called after each attempt of each delivery. */
  onAttempt?: (report: DeliveryAttempt, delivery: DeliveryIdentity) => void;
}

/** Which delivery of a {@link deliverMany} run something is about. */
export interface DeliveryIdentity {
  /** 0-based position in the order deliveries were started. */
  index: number;
  /** 0-based index into `bodies`. */
  bodyIndex: number;
  /** 0-based copy number, below `times`. */
  copy: number;
}

/** A delivery within a {@link deliverMany} run. */
export interface DeliveryRunEntry extends DeliveryResult, DeliveryIdentity {}

/** The outcome of {@link deliverMany}. */
export interface DeliveryRunResult {
  /** `true` when every delivery got a 2xx. */
  ok: boolean;
  delivered: number;
  failed: number;
  /** In the order they were started. */
  deliveries: DeliveryRunEntry[];
}

interface ResponseLike {
  status: number;
  text(): Promise<string>;
}

interface Transport {
  send(
    url: string,
    init: { body: Payload; headers: Record<string, string>; signal: AbortSignal },
  ): Promise<ResponseLike>;
  close(): Promise<void>;
}

const responseBodyLimit = 1024;

/**
 * Delivers one body the way Clik2pay does: a JSON `POST` with a Basic
 * `Authorization` header, delivered only on a 2xx, otherwise tried again (on
 * any other status, a network error or a timeout) up to three attempts in all.
 * Never throws for a failed delivery: the result says what happened.
 *
 * @example
 * ```ts
 * const result = await deliver({
 *   url: 'http://localhost:3001/webhooks/clik2pay',
 *   username: 'clik2pay',
 *   password: process.env.C2P_WEBHOOK_PASSWORD,
 *   body: createBody(createEvent()),
 *   backoffMs: 10,
 * });
 * result.delivered; // true once an attempt got a 2xx
 * ```
 */
export async function deliver(options: DeliverOptions): Promise<DeliveryResult> {
  const plan = preparePlan(options);
  const transport = await createTransport(plan.url, options);
  try {
    return await deliverOnce(plan, transport, encodeBody(options.body), options.onAttempt);
  } finally {
    await transport.close();
  }
}

/**
 * Delivers several bodies, optionally as duplicates, concurrently and out of
 * order: the ways Clik2pay's at-least-once, unordered delivery can surprise a
 * receiver. Each delivery retries on its own as {@link deliver} does.
 *
 * @example
 * ```ts
 * const body = createBody(createEvent());
 * // The same event three times at once: exactly one should be processed.
 * const run = await deliverMany({ url, username, password, bodies: [body], times: 3, concurrency: 3 });
 * ```
 */
export async function deliverMany(options: DeliverManyOptions): Promise<DeliveryRunResult> {
  const { plan, times, concurrency, order } = prepareRun(options);
  const encoded = options.bodies.map(encodeBody);
  const queue: Omit<DeliveryIdentity, 'index'>[] = [];
  for (let bodyIndex = 0; bodyIndex < encoded.length; bodyIndex++) {
    for (let copy = 0; copy < times; copy++) queue.push({ bodyIndex, copy });
  }
  if (order === 'reverse') queue.reverse();
  if (order === 'shuffle') shuffle(queue, options.random ?? Math.random);

  const transport = await createTransport(plan.url, options);
  const deliveries: DeliveryRunEntry[] = new Array(queue.length);
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < queue.length) {
      const index = next++;
      const item = queue[index] as Omit<DeliveryIdentity, 'index'>;
      const identity: DeliveryIdentity = { index, ...item };
      const body = encoded[item.bodyIndex] as Payload;
      const onAttempt = options.onAttempt;
      const result = await deliverOnce(
        plan,
        transport,
        body,
        onAttempt ? (report) => onAttempt(report, identity) : undefined,
      );
      deliveries[index] = { ...identity, ...result };
    }
  };
  try {
    await Promise.all(Array.from({ length: Math.min(concurrency, queue.length) }, worker));
  } finally {
    await transport.close();
  }
  const delivered = deliveries.filter((d) => d.delivered).length;
  return {
    ok: delivered === deliveries.length,
    delivered,
    failed: deliveries.length - delivered,
    deliveries,
  };
}

/**
 * Throws the {@link OptionError} that {@link deliverMany} would throw for these
 * options, without sending anything: the CLI checks before it prints.
 */
export function checkDeliverManyOptions(options: DeliverManyOptions): void {
  prepareRun(options);
}

interface RunPlan {
  plan: Plan;
  times: number;
  concurrency: number;
  order: DeliveryOrder;
}

function prepareRun(options: DeliverManyOptions): RunPlan {
  const plan = preparePlan(options);
  const times = positiveInteger(options.times ?? 1, 'times');
  const concurrency = positiveInteger(options.concurrency ?? 1, 'concurrency');
  const order = options.order ?? 'as-given';
  if (order !== 'as-given' && order !== 'reverse' && order !== 'shuffle') {
    throw new OptionError(
      'options.order',
      `"${String(order)}" is not "as-given", "reverse" or "shuffle"`,
    );
  }
  return { plan, times, concurrency, order };
}

interface Plan {
  url: URL;
  attempts: number;
  timeoutMs: number;
  backoff: (retry: number) => number;
  headers: Record<string, string>;
  signal: AbortSignal | undefined;
}

function preparePlan(options: DeliveryConnectionOptions): Plan {
  const url = parseUrl(options.url);
  const attempts = positiveInteger(options.attempts ?? 3, 'attempts');
  const timeoutMs = options.timeoutMs ?? 10_000;
  if (!(timeoutMs > 0) || !Number.isFinite(timeoutMs)) {
    throw new OptionError('options.timeoutMs', `${timeoutMs} is not a positive number`);
  }
  const backoffMs = options.backoffMs ?? 1000;
  if (typeof backoffMs === 'number' && (!(backoffMs >= 0) || !Number.isFinite(backoffMs))) {
    throw new OptionError('options.backoffMs', `${backoffMs} is not a number of ms >= 0`);
  }
  const backoff =
    typeof backoffMs === 'number' ? (retry: number) => backoffMs * 2 ** (retry - 1) : backoffMs;

  const headers: Record<string, string> = {
    'content-type': 'application/json',
    'user-agent': 'c2p-simulator',
  };
  if (options.username !== undefined || options.password !== undefined) {
    headers.authorization = basicAuthorization(
      options.username ?? '',
      options.password ?? '',
      'options.username',
    );
  }
  if (options.forwardedFor !== undefined) headers['x-forwarded-for'] = options.forwardedFor;
  for (const [name, value] of Object.entries(options.headers ?? {})) {
    headers[name.toLowerCase()] = value;
  }
  return { url, attempts, timeoutMs, backoff, headers, signal: options.signal };
}

/** The receiver's URL; `localhost:3001/x`, which URL reads as scheme `localhost:`, gets a suggestion. */
function parseUrl(value: string | URL): URL {
  const text = String(value);
  // host:port/... or a bare host:port: the scheme was left out.
  const schemeless = /^[\w.-]+:\d+(?:[/?#]|$)/.test(text) || /^\[[\d:a-f.]+\]:\d+/i.test(text);
  if (schemeless) {
    throw new OptionError('options.url', `"${text}" has no scheme: did you mean http://${text}?`);
  }
  let url: URL;
  try {
    url = new URL(text);
  } catch {
    throw new OptionError('options.url', `"${text}" is not a URL`);
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') {
    throw new OptionError('options.url', `"${url.protocol}" is not http: or https:`);
  }
  return url;
}

async function deliverOnce(
  plan: Plan,
  transport: Transport,
  body: Payload,
  onAttempt: ((report: DeliveryAttempt) => void) | undefined,
): Promise<DeliveryResult> {
  const attempts: DeliveryAttempt[] = [];
  for (let attempt = 1; attempt <= plan.attempts; attempt++) {
    if (attempt > 1) await sleep(Math.max(0, plan.backoff(attempt - 1)), plan.signal);
    const report = await attemptOnce(plan, transport, body, attempt);
    attempts.push(report);
    onAttempt?.(report);
    if (report.outcome === 'delivered') return { delivered: true, attempts };
    if (report.outcome === 'aborted') break;
  }
  return { delivered: false, attempts };
}

async function attemptOnce(
  plan: Plan,
  transport: Transport,
  body: Payload,
  attempt: number,
): Promise<DeliveryAttempt> {
  const startedAt = new Date().toISOString();
  const started = performance.now();
  const elapsed = (): number => Math.round((performance.now() - started) * 10) / 10;
  if (plan.signal?.aborted) {
    return {
      attempt,
      outcome: 'aborted',
      status: null,
      startedAt,
      durationMs: 0,
      error: 'aborted',
      responseBody: null,
    };
  }
  const controller = new AbortController();
  let timedOut = false;
  const timer = setTimeout(() => {
    timedOut = true;
    controller.abort();
  }, plan.timeoutMs);
  const onAbort = (): void => controller.abort();
  plan.signal?.addEventListener('abort', onAbort, { once: true });
  try {
    const response = await transport.send(plan.url.href, {
      body,
      headers: plan.headers,
      signal: controller.signal,
    });
    const text = await response.text();
    const ok = response.status >= 200 && response.status < 300;
    return {
      attempt,
      outcome: ok ? 'delivered' : 'http-error',
      status: response.status,
      startedAt,
      durationMs: elapsed(),
      error: ok ? null : `HTTP ${response.status}`,
      responseBody: text === '' ? null : text.slice(0, responseBodyLimit),
    };
  } catch (error) {
    return failedAttempt(plan, error, { attempt, startedAt, timedOut, durationMs: elapsed() });
  } finally {
    clearTimeout(timer);
    plan.signal?.removeEventListener('abort', onAbort);
  }
}

/** fetch says only "fetch failed"; the useful part (code and reason) is in its cause. */
function describeNetworkError(error: unknown): string {
  let current: unknown = error;
  for (let depth = 0; depth < 5 && current instanceof Error; depth++) {
    const cause: unknown = current.cause;
    if (!(cause instanceof Error)) break;
    current = cause;
  }
  if (!(current instanceof Error)) return String(current);
  const code = (current as Error & { code?: unknown }).code;
  // OpenSSL's message is `<hex>:error:<hex>:SSL routines:<function>:<reason>:<file>:<line>:`.
  const reason = /SSL routines:[^:]*:([^:]+)/.exec(current.message)?.[1];
  const message = reason ?? (current.message || current.name);
  return typeof code === 'string' && !message.startsWith(code) ? `${code}: ${message}` : message;
}

async function createTransport(url: URL, options: DeliveryConnectionOptions): Promise<Transport> {
  const custom =
    url.protocol === 'https:' && (options.ca !== undefined || options.insecure === true);
  if (!custom) {
    return {
      send: (target, init) => fetch(target, { method: 'POST', ...init }),
      close: async () => {},
    };
  }
  // Node's fetch cannot take TLS options; undici's own fetch and Agent, used together, can.
  const undici = await import('undici');
  const agent = new undici.Agent({
    connect: {
      ...(options.ca === undefined ? {} : { ca: toPem(options.ca) }),
      rejectUnauthorized: options.insecure !== true,
    },
  });
  return {
    send: (target, init) => undici.fetch(target, { method: 'POST', ...init, dispatcher: agent }),
    close: () => agent.close(),
  };
}

function toPem(ca: string | Uint8Array): string {
  return typeof ca === 'string' ? ca : new TextDecoder().decode(ca);
}

/** A body ready to send; bytes are copied so the caller may reuse its buffer. */
type Payload = string | Uint8Array<ArrayBuffer>;

function encodeBody(body: unknown): Payload {
  if (typeof body === 'string') return body;
  if (body instanceof Uint8Array) return new Uint8Array(body);
  const json = JSON.stringify(body);
  if (json === undefined) {
    throw new OptionError('options.body', 'cannot be encoded as JSON');
  }
  return json;
}

// Core's one integer rule; the error is this package's typed one, carrying the path.
function positiveInteger(value: number, name: string): number {
  const path = `options.${name}`;
  try {
    return integerOption(value, path, { pkg: '@c2p/testing' });
  } catch {
    throw new OptionError(path, `${value} is not a positive integer`);
  }
}

function shuffle<T>(items: T[], random: () => number): void {
  for (let i = items.length - 1; i > 0; i--) {
    const j = Math.floor(random() * (i + 1));
    const a = items[i] as T;
    items[i] = items[j] as T;
    items[j] = a;
  }
}

function sleep(ms: number, signal: AbortSignal | undefined): Promise<void> {
  if (ms === 0 || signal?.aborted) return Promise.resolve();
  return new Promise((resolve) => {
    const done = (): void => {
      clearTimeout(timer);
      signal?.removeEventListener('abort', done);
      resolve();
    };
    const timer = setTimeout(done, ms);
    signal?.addEventListener('abort', done, { once: true });
  });
}

/** An attempt that got no answer: timed out, aborted by the caller, or a network error. */
function failedAttempt(
  plan: Plan,
  error: unknown,
  run: { attempt: number; startedAt: string; timedOut: boolean; durationMs: number },
): DeliveryAttempt {
  const outcome: DeliveryAttemptOutcome = run.timedOut
    ? 'timeout'
    : plan.signal?.aborted
      ? 'aborted'
      : 'network-error';
  return {
    attempt: run.attempt,
    outcome,
    status: null,
    startedAt: run.startedAt,
    durationMs: run.durationMs,
    error:
      outcome === 'timeout'
        ? `timed out after ${plan.timeoutMs} ms`
        : outcome === 'aborted'
          ? 'aborted'
          : describeNetworkError(error),
    responseBody: null,
  };
}
