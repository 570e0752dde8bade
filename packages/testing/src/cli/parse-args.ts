import type { ParseArgsConfig } from 'node:util';
import { parseArgs } from 'node:util';
import { UsageError } from './usage-error.js';

/** The flags of `send` and `replay`. */
export const deliveryOptions = {
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

/** The flags of `send` and `example`. */
export const eventOptions = {
  kind: { type: 'string' },
  'resource-type': { type: 'string' },
  id: { type: 'string' },
  status: { type: 'string' },
  amount: { type: 'string' },
  events: { type: 'string' },
  shape: { type: 'string' },
  'merchant-transaction-id': { type: 'string' },
  'payment-request-id': { type: 'string' },
  resource: { type: 'string', multiple: true },
  'allow-unknown': { type: 'boolean' },
  help: { type: 'boolean', short: 'h' },
} as const;

/** A command's parsed arguments: its flags, read with their environment fallbacks. */
export interface ParsedArgs {
  flags: Flags;
  positionals: string[];
}

/**
 * Parses `args` strictly against `options`; a mistake becomes a {@link UsageError}
 * that points at `c2p <command> --help`.
 */
export function parseCommandArgs(
  command: string,
  args: string[],
  spec: {
    options: NonNullable<ParseArgsConfig['options']>;
    env: Readonly<Record<string, string | undefined>>;
  },
): ParsedArgs {
  const { options, env } = spec;
  try {
    const { values, positionals } = parseArgs({
      args,
      options,
      allowPositionals: true,
      strict: true,
    });
    if (positionals.length > 1) {
      throw new UsageError(`unexpected argument '${positionals[1]}'`);
    }
    return { flags: new Flags(values as Values, env), positionals };
  } catch (error) {
    if (error instanceof UsageError) {
      throw new UsageError(`${error.message} (see c2p ${command} --help)`);
    }
    const message = error instanceof Error ? error.message : String(error);
    // parseArgs explains at length; its first sentence is the one that matters.
    const first = (message.split(/\.\s/)[0] ?? message).replace(/\.$/, '');
    throw new UsageError(`${first} (see c2p ${command} --help)`);
  }
}

type Values = Record<string, string | boolean | string[] | undefined>;

/** Typed reads of parsed flags; a malformed value throws a {@link UsageError} naming the flag. */
export class Flags {
  readonly #values: Values;
  readonly #env: Readonly<Record<string, string | undefined>>;

  constructor(values: Values, env: Readonly<Record<string, string | undefined>>) {
    this.#values = values;
    this.#env = env;
  }

  /** Whether a boolean flag was given. */
  has(name: string): boolean {
    return this.#values[name] === true;
  }

  /** The names of the flags given, in no particular order. */
  given(): string[] {
    return Object.keys(this.#values);
  }

  /** A string flag, else the environment variable `env` (empty counts as unset). */
  text(name: string, env?: string): string | undefined {
    const value = this.#values[name];
    if (typeof value === 'string') return value;
    const fromEnv = env === undefined ? undefined : this.#env[env];
    return fromEnv === '' ? undefined : fromEnv;
  }

  /** Every value of a repeatable string flag, in the order given. */
  list(name: string): string[] {
    const value = this.#values[name];
    return Array.isArray(value) ? value : typeof value === 'string' ? [value] : [];
  }

  /** A whole number >= 1. */
  count(name: string, fallback: number): number {
    const raw = this.text(name);
    if (raw === undefined) return fallback;
    const value = Number(raw);
    if (!/^\d+$/.test(raw) || !Number.isSafeInteger(value) || value < 1) {
      throw new UsageError(`--${name}: "${raw}" is not a whole number >= 1`);
    }
    return value;
  }

  /** A number of milliseconds, >= 0, or > 0 unless `allowZero`. */
  milliseconds(name: string, fallback: number, allowZero: boolean): number {
    const raw = this.text(name);
    if (raw === undefined) return fallback;
    const value = Number(raw);
    if (raw.trim() === '' || !Number.isFinite(value) || value < 0 || (!allowZero && value === 0)) {
      throw new UsageError(`--${name}: "${raw}" is not a number of milliseconds`);
    }
    return value;
  }

  /** A finite number. */
  number(name: string): number | undefined {
    const raw = this.text(name);
    if (raw === undefined) return undefined;
    const value = Number(raw);
    if (raw.trim() === '' || !Number.isFinite(value)) {
      throw new UsageError(`--${name}: "${raw}" is not a number`);
    }
    return value;
  }

  /** One of `allowed`. */
  oneOf<T extends string>(name: string, allowed: readonly T[], fallback: T): T {
    const raw = this.text(name);
    if (raw === undefined) return fallback;
    if (!(allowed as readonly string[]).includes(raw)) {
      throw new UsageError(`--${name}: "${raw}" is not one of ${allowed.join(', ')}`);
    }
    return raw as T;
  }
}
