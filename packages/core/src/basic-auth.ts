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
// C0 controls and DEL: RFC 7617 forbids them in user-id and password.
// biome-ignore lint/suspicious/noControlCharactersInRegex: that is the point
const CONTROL = /[\u0000-\u001f\u007f]/;
// In a `u` regex a surrogate pair is one code point, so this matches only a lone
// surrogate: TextEncoder turns each into U+FFFD, so two such secrets would compare equal.
const LONE_SURROGATE = /[\ud800-\udfff]/u;

interface Expected {
  username: Uint8Array;
  password: Uint8Array;
}

/**
 * Compiles a Basic-auth verifier (RFC 7617): case-insensitive scheme, password
 * split at the first colon, UTF-8 with NFC normalisation, control characters
 * rejected. Every accepted pair is compared in full, in constant time over
 * username and password, with no early exit on length or on the first match.
 * A header spelled as clients write it (`Basic `, padded base64) is first
 * compared as text, in constant time too, with no decoding; any other spelling
 * (and a refused header) is then decoded and compared. So an accepted header
 * answers sooner than a refused one, which tells nothing the 401 does not.
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
    for (const half of ['username', 'password'] as const) {
      if (LONE_SURROGATE.test(pair[half]))
        throw invalidOption(`${at}.${half}`, 'must be well-formed Unicode (no lone surrogates)');
    }
    return {
      username: encoder.encode(pair.username.normalize('NFC')),
      password: encoder.encode(pair.password.normalize('NFC')),
    };
  });

  const joined = expected.map(joinPair);
  const canonical = joined.map(usualHeader);

  return (authorization) => {
    if (typeof authorization === 'string' && matchesCanonical(authorization, canonical))
      return true;
    // Any other spelling (scheme case, spaces, no padding, a wrong secret): decoded
    // into one buffer reused by every call (verifying is synchronous), no allocation.
    const length = decodeBasicBytes(authorization, scratch);
    if (length < 0) return false;
    let ascii = true;
    for (let i = 0; i < length; i++) {
      const byte = scratch[i] as number;
      if (byte < 0x20 || byte === 0x7f) return false;
      if (byte > 0x7f) ascii = false;
    }
    let matched = 0;
    if (ascii) {
      // Every pair is visited and compared in full.
      for (const pair of joined) matched |= equalPrefix(scratch, length, pair);
      return matched === 1;
    }
    // Non-ASCII: decode UTF-8 strictly and normalise to NFC before comparing.
    const given = splitUtf8(scratch.slice(0, length));
    if (given === undefined) return false;
    for (const pair of expected) {
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

const BASE64_VALUES = (() => {
  const table = new Int8Array(128).fill(-1);
  const alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/';
  for (let i = 0; i < alphabet.length; i++) table[alphabet.charCodeAt(i)] = i;
  return table;
})();

// A header is at most 4,096 characters, so its token decodes to at most 3,072 bytes.
const scratch = new Uint8Array(3072);

/** Decodes `Basic <token68>` (scheme in any case) into `out`: its length, or -1. */
function decodeBasicBytes(header: string | null | undefined, out: Uint8Array): number {
  if (typeof header !== 'string' || header.length > 4096) return -1;
  let start = 0;
  let end = header.length;
  while (start < end && header.charCodeAt(start) === 0x20) start++;
  while (end > start && header.charCodeAt(end - 1) === 0x20) end--;
  if (end - start < 7 || header.charCodeAt(start + 5) !== 0x20) return -1;
  if (!isBasicScheme(header, start)) return -1;
  start += 6;
  while (start < end && header.charCodeAt(start) === 0x20) start++;
  let padding = 0;
  while (padding < 2 && end - padding > start && header.charCodeAt(end - padding - 1) === 0x3d)
    padding++;
  const length = end - start - padding;
  if (length <= 0 || length % 4 === 1 || (padding > 0 && (length + padding) % 4 !== 0)) {
    return -1;
  }
  let buffer = 0;
  let bits = 0;
  let o = 0;
  for (let i = start; i < start + length; i++) {
    const code = header.charCodeAt(i);
    const value = code < 128 ? (BASE64_VALUES[code] as number) : -1;
    if (value < 0) return -1;
    buffer = (buffer << 6) | value;
    bits += 6;
    if (bits >= 8) {
      bits -= 8;
      out[o++] = (buffer >> bits) & 0xff;
    }
  }
  return o;
}

/** Do the five characters at `start` spell `basic` in any case (without a slice)? */
function isBasicScheme(header: string, start: number): boolean {
  // ASCII letters differ from their capitals in bit 0x20 alone.
  return (
    (header.charCodeAt(start) | 0x20) === 0x62 &&
    (header.charCodeAt(start + 1) | 0x20) === 0x61 &&
    (header.charCodeAt(start + 2) | 0x20) === 0x73 &&
    (header.charCodeAt(start + 3) | 0x20) === 0x69 &&
    (header.charCodeAt(start + 4) | 0x20) === 0x63
  );
}

function splitUtf8(bytes: Uint8Array): Expected | undefined {
  let text: string;
  try {
    text = decoder.decode(bytes);
  } catch {
    return undefined;
  }
  const colon = text.indexOf(':');
  if (colon < 0) return undefined;
  return {
    username: encoder.encode(text.slice(0, colon).normalize('NFC')),
    password: encoder.encode(text.slice(colon + 1).normalize('NFC')),
  };
}

/**
 * What a matching header decodes to, `username:password` in UTF-8. The username
 * has no colon, so equal bytes mean the first-colon split agrees too.
 */
function joinPair({ username, password }: Expected): Uint8Array {
  const bytes = new Uint8Array(username.length + 1 + password.length);
  bytes.set(username);
  bytes[username.length] = 0x3a;
  bytes.set(password, username.length + 1);
  return bytes;
}

/**
 * The header as clients write it (`Basic `, padded base64): most deliveries match
 * one of these in full, which costs a comparison of characters and no decoding.
 */
function usualHeader(joined: Uint8Array): string {
  return `Basic ${btoa(String.fromCharCode(...joined))}`;
}

/**
 * Is `header` one of the `canonical` headers? Each is compared in full, with no
 * exit on length or at a first difference: the time depends on the expected
 * lengths alone. (Past the end of `header`, `charCodeAt` is NaN, which `^` reads as 0.)
 */
function matchesCanonical(header: string, canonical: readonly string[]): boolean {
  let matched = 0;
  for (const expected of canonical) {
    let diff = expected.length ^ header.length;
    for (let i = 0; i < expected.length; i++) diff |= header.charCodeAt(i) ^ expected.charCodeAt(i);
    matched |= diff === 0 ? 1 : 0;
  }
  return matched === 1;
}

/** {@link equalBytes} over the first `length` bytes of `given`. */
function equalPrefix(given: Uint8Array, length: number, expected: Uint8Array): number {
  let diff = length ^ expected.length;
  for (let i = 0; i < expected.length; i++) diff |= (given[i] as number) ^ (expected[i] as number);
  return diff === 0 ? 1 : 0;
}

// Time depends only on the expected length (which the server knows), never on
// where the given bytes first differ.
function equalBytes(given: Uint8Array, expected: Uint8Array): number {
  let diff = given.length ^ expected.length;
  for (let i = 0; i < expected.length; i++) diff |= (given[i] ?? 0) ^ (expected[i] as number);
  return diff === 0 ? 1 : 0;
}
