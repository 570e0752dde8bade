import { invalidOption } from './errors.js';

/** One accepted username and password pair. */
export interface BasicCredentials {
  username: string;
  password: string;
}

/** Options for {@link createBasicAuthVerifier}. */
export interface BasicAuthOptions {
  /**
   * The accepted pairs. Give two during a rotation: the old and the new.
   * A username may not contain a colon (RFC 7617); neither may contain control characters.
   */
  credentials: BasicCredentials | readonly BasicCredentials[];
  /** Names the option in error messages. Defaults to `options.credentials`. */
  optionPath?: string;
}

/** Answers whether an `Authorization` header value carries accepted credentials. */
export type BasicAuthVerifier = (authorization: string | null | undefined) => boolean;

const encoder = new TextEncoder();
const decoder = new TextDecoder('utf-8', { fatal: true });
const BASE64 = /^[A-Za-z0-9+/]+={0,2}$/;
// C0 controls and DEL: RFC 7617 forbids them in user-id and password.
// biome-ignore lint/suspicious/noControlCharactersInRegex: that is the point
const CONTROL = /[\u0000-\u001f\u007f]/;

interface Expected {
  username: Uint8Array;
  password: Uint8Array;
}

/**
 * Compiles a Basic-auth verifier (RFC 7617): case-insensitive scheme, password
 * split at the first colon, UTF-8 with NFC normalisation, control characters
 * rejected. Every accepted pair is compared in full, in constant time over
 * username and password, with no early exit on length or on the first match.
 *
 * @see https://www.rfc-editor.org/rfc/rfc7617
 * @example
 * const verify = createBasicAuthVerifier({ credentials: { username: 'clik2pay', password: secret } });
 * verify(request.headers.get('authorization')); // true or false
 */
export function createBasicAuthVerifier(options: BasicAuthOptions): BasicAuthVerifier {
  const path = options.optionPath ?? 'options.credentials';
  const list = Array.isArray(options.credentials)
    ? (options.credentials as readonly BasicCredentials[])
    : [options.credentials as BasicCredentials];
  if (list.length === 0)
    throw invalidOption(path, 'at least one username and password pair is required');
  const expected: Expected[] = list.map((pair, index) => {
    const at = Array.isArray(options.credentials) ? `${path}[${index}]` : path;
    if (typeof pair?.username !== 'string' || pair.username === '') {
      throw invalidOption(`${at}.username`, 'must be a non-empty string');
    }
    if (typeof pair.password !== 'string' || pair.password === '') {
      throw invalidOption(`${at}.password`, 'must be a non-empty string');
    }
    if (pair.username.includes(':'))
      throw invalidOption(`${at}.username`, 'must not contain a colon');
    if (CONTROL.test(pair.username))
      throw invalidOption(`${at}.username`, 'must not contain control characters');
    if (CONTROL.test(pair.password))
      throw invalidOption(`${at}.password`, 'must not contain control characters');
    return {
      username: encoder.encode(pair.username.normalize('NFC')),
      password: encoder.encode(pair.password.normalize('NFC')),
    };
  });

  return (authorization) => {
    const given = decodeBasic(authorization);
    if (given === undefined) return false;
    let matched = 0;
    for (const pair of expected) {
      // Both halves always compared, every pair always visited.
      matched |=
        equalBytes(given.username, pair.username) & equalBytes(given.password, pair.password);
    }
    return matched === 1;
  };
}

/**
 * One-shot form of {@link createBasicAuthVerifier}. Prefer the factory on a hot
 * path: it encodes the expected credentials once.
 */
export function verifyBasicAuth(
  authorization: string | null | undefined,
  credentials: BasicCredentials | readonly BasicCredentials[],
): boolean {
  return createBasicAuthVerifier({ credentials })(authorization);
}

/** Builds an `Authorization` header value for `username` and `password` (UTF-8). */
export function encodeBasicAuth(username: string, password: string): string {
  const bytes = encoder.encode(`${username.normalize('NFC')}:${password.normalize('NFC')}`);
  let binary = '';
  for (const byte of bytes) binary += String.fromCharCode(byte);
  return `Basic ${btoa(binary)}`;
}

function decodeBasic(header: string | null | undefined): Expected | undefined {
  if (typeof header !== 'string' || header.length > 4096) return undefined;
  const value = header.trim();
  const space = value.indexOf(' ');
  if (space !== 5 || value.slice(0, 5).toLowerCase() !== 'basic') return undefined;
  const token = value.slice(6).trim();
  if (token.length % 4 === 1 || !BASE64.test(token)) return undefined;
  let text: string;
  try {
    const binary = atob(token);
    const bytes = new Uint8Array(binary.length);
    for (let i = 0; i < binary.length; i++) bytes[i] = binary.charCodeAt(i);
    text = decoder.decode(bytes);
  } catch {
    return undefined;
  }
  const colon = text.indexOf(':');
  if (colon < 0 || CONTROL.test(text)) return undefined;
  return {
    username: encoder.encode(text.slice(0, colon).normalize('NFC')),
    password: encoder.encode(text.slice(colon + 1).normalize('NFC')),
  };
}

// Time depends only on the expected length (which the server knows), never on
// where the given bytes first differ.
function equalBytes(given: Uint8Array, expected: Uint8Array): number {
  let diff = given.length ^ expected.length;
  for (let i = 0; i < expected.length; i++) diff |= (given[i] ?? 0) ^ (expected[i] as number);
  return diff === 0 ? 1 : 0;
}
