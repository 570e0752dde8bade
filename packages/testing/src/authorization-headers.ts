import type { BasicCredentials } from '@c2p/core';
import fc from 'fast-check';

/**
 * One hostile (or genuine) request's `Authorization` headers, with the answer a
 * correct RFC 7617 verifier gives: accepted only when exactly one header carries
 * one of the configured pairs.
 */
export interface AuthorizationCase {
  /** The header lines, in order; empty for none. */
  headers: string[];
  /** Whether a correct verifier accepts them. */
  accept: boolean;
  /** What kind of input this is, for failure messages. */
  kind: string;
}

/** Options for {@link authorizationCases}. */
export interface AuthorizationCasesOptions {
  /**
   * Only what an HTTP/1.1 client can put on the wire: header values of visible
   * latin1 characters (no controls, nothing above U+00FF), at most `maxHeaderChars`.
   */
  wire?: boolean;
  /** The longest header value. Defaults to `20_000` (past Node's 16 KiB header limit). */
  maxHeaderChars?: number;
}

const utf8 = new TextEncoder();

/** `bytes` as base64 (standard alphabet, padded). */
export function base64Of(bytes: Uint8Array): string {
  let binary = '';
  for (const byte of bytes) binary += String.fromCharCode(byte);
  return btoa(binary);
}

/**
 * A fast-check arbitrary of `Authorization` headers against `pairs`: the genuine
 * pairs (any scheme case, NFD spellings), near misses (one byte changed, cut,
 * extended, the other pair's password, no colon, latin1 instead of UTF-8), random
 * bytes, random text, wrong schemes, huge values, and several headers at once.
 */
export function authorizationCases(
  pairs: readonly BasicCredentials[],
  options: AuthorizationCasesOptions = {},
): fc.Arbitrary<AuthorizationCase> {
  const maxChars = options.maxHeaderChars ?? 20_000;
  const wire = options.wire ?? false;
  const pair = fc.constantFrom(...pairs);
  const joined = (p: BasicCredentials, form: 'NFC' | 'NFD' = 'NFC') =>
    utf8.encode(`${p.username.normalize(form)}:${p.password.normalize(form)}`);
  const basic = (bytes: Uint8Array) => `Basic ${base64Of(bytes)}`;

  const genuine = fc
    .record({ p: pair, scheme: fc.mixedCase(fc.constant('basic')), nfd: fc.boolean() })
    .map(({ p, scheme, nfd }) => ({
      headers: [`${scheme} ${base64Of(joined(p, nfd ? 'NFD' : 'NFC'))}`],
      accept: true,
      kind: nfd ? 'genuine pair, NFD' : 'genuine pair',
    }));

  const nearMiss = fc
    .record({
      p: pair,
      at: fc.nat(),
      xor: fc.integer({ min: 1, max: 255 }),
      how: fc.constantFrom('flip', 'cut', 'extend', 'no-colon', 'latin1', 'swap'),
    })
    .map(({ p, at, xor, how }) => {
      const bytes = joined(p);
      const index = at % bytes.length;
      let changed: Uint8Array;
      if (how === 'flip') {
        changed = bytes.slice();
        changed[index] = (changed[index] as number) ^ xor;
      } else if (how === 'cut') changed = bytes.slice(0, index);
      else if (how === 'extend') changed = Uint8Array.from([...bytes, xor]);
      else if (how === 'no-colon') changed = utf8.encode(`${p.username}${p.password}`);
      else if (how === 'latin1') {
        const text = `${p.username}:${p.password}`;
        changed = Uint8Array.from(text, (char) => char.charCodeAt(0) & 0xff);
      } else {
        const other = pairs.find((q) => q !== p) ?? { username: p.username, password: 'x' };
        changed = utf8.encode(`${p.username}:${other.password}`);
      }
      // A flip can land on an ASCII letter's case bit only inside the bytes, never the scheme:
      // any changed byte string differs from every configured pair (checked below).
      return { headers: [basic(changed)], accept: false, kind: `near miss (${how})` };
    });

  const randomBytes = fc
    .uint8Array({ maxLength: 256 })
    .map((bytes) => ({ headers: [basic(bytes)], accept: false, kind: 'random bytes' }));

  const textUnit = wire
    ? fc.oneof(
        fc.integer({ min: 0x20, max: 0x7e }).map((code) => String.fromCharCode(code)),
        fc.integer({ min: 0x80, max: 0xff }).map((code) => String.fromCharCode(code)),
      )
    : fc.integer({ min: 0, max: 0xffff }).map((code) => String.fromCharCode(code));
  const randomText = fc
    .record({
      prefix: fc.constantFrom('', 'Basic ', 'basic ', 'Basic  ', ' Basic'),
      text: fc.string({ unit: textUnit, maxLength: 128 }),
    })
    .map(({ prefix, text }) => ({
      headers: [`${prefix}${text}`.trim() === '' ? 'x' : `${prefix}${text}`],
      accept: false,
      kind: 'random text',
    }));

  const wrongScheme = fc
    .record({
      p: pair,
      scheme: fc.constantFrom('Bearer', 'Digest', 'Basi', 'Basicc', 'Basic:', 'Negotiate', ''),
    })
    .map(({ p, scheme }) => ({
      headers: [`${scheme}${scheme === '' ? '' : ' '}${base64Of(joined(p))}`],
      accept: false,
      kind: 'wrong scheme',
    }));

  const huge = fc
    .record({
      p: pair,
      length: fc.integer({ min: 4_097, max: maxChars }),
      fill: fc.constantFrom('A', '=', ' ', 'x'),
    })
    .map(({ p, length, fill }) => {
      const start = `Basic ${base64Of(joined(p))}`;
      return {
        headers: [`${start}${fill.repeat(Math.max(0, length - start.length))}`.trimEnd() || 'x'],
        accept: false,
        kind: 'huge',
      };
    });

  const single = fc.oneof(
    { arbitrary: genuine, weight: 2 },
    { arbitrary: nearMiss, weight: 3 },
    { arbitrary: randomBytes, weight: 2 },
    { arbitrary: randomText, weight: 2 },
    { arbitrary: wrongScheme, weight: 1 },
    { arbitrary: huge, weight: 1 },
  );
  // Several Authorization headers are a malformed request (the field is not a list):
  // refused even when every one of them is genuine.
  const several = fc.array(single, { minLength: 2, maxLength: 3 }).map((cases) => ({
    headers: cases.flatMap((c) => c.headers),
    accept: false,
    kind: `several headers (${cases.map((c) => c.kind).join(', ')})`,
  }));
  const none = fc.constant<AuthorizationCase>({ headers: [], accept: false, kind: 'no header' });

  const expected = pairs.map((p) => base64Of(joined(p)));
  return fc
    .oneof(
      { arbitrary: single, weight: 8 },
      { arbitrary: several, weight: 2 },
      { arbitrary: none, weight: 1 },
    )
    .map((c) => {
      // A random or mutated value equal to a genuine one is accepted, rightly.
      if (!c.accept && c.headers.length === 1) {
        const [scheme, token] = (c.headers[0] as string).trim().split(/ +/);
        if (scheme?.toLowerCase() === 'basic' && token && expected.includes(token)) {
          return { ...c, accept: true };
        }
      }
      return c;
    });
}
