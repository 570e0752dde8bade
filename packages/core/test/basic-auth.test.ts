import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { createBasicAuthVerifier, encodeBasicAuth, verifyBasicAuth } from '../src/basic-auth.js';
import { C2pError } from '../src/errors.js';

const user = 'clik2pay';
const pass = 's3cret:with:colons';
const verify = createBasicAuthVerifier({ credentials: { username: user, password: pass } });

/** `Basic` + base64 of exactly these UTF-8 bytes, with no normalisation. */
function basicOf(text: string, scheme = 'Basic'): string {
  let binary = '';
  for (const byte of new TextEncoder().encode(text)) binary += String.fromCharCode(byte);
  return `${scheme} ${btoa(binary)}`;
}

function basicOfBytes(bytes: number[]): string {
  return `Basic ${btoa(String.fromCharCode(...bytes))}`;
}

function configError(fn: () => unknown): C2pError {
  try {
    fn();
  } catch (error) {
    expect(error).toBeInstanceOf(C2pError);
    return error as C2pError;
  }
  throw new Error('expected a configuration error');
}

describe('encodeBasicAuth', () => {
  it('encodes the RFC 7617 example', () => {
    expect(encodeBasicAuth('Aladdin', 'open sesame')).toBe('Basic QWxhZGRpbjpvcGVuIHNlc2FtZQ==');
  });

  it('encodes UTF-8 (RFC 7617 section 2.1 example)', () => {
    expect(encodeBasicAuth('test', '123\u00a3')).toBe('Basic dGVzdDoxMjPCow==');
  });
});

describe('createBasicAuthVerifier', () => {
  it('accepts the configured pair', () => {
    expect(verify(encodeBasicAuth(user, pass))).toBe(true);
    expect(verify(basicOf(`${user}:${pass}`))).toBe(true);
  });

  it.each(['Basic', 'basic', 'BASIC', 'bAsIc'])('accepts the scheme spelled %s', (scheme) => {
    expect(verify(basicOf(`${user}:${pass}`, scheme))).toBe(true);
  });

  it('tolerates surrounding whitespace and several spaces after the scheme', () => {
    const token = encodeBasicAuth(user, pass).slice('Basic '.length);
    expect(verify(`  Basic ${token}  `)).toBe(true);
    expect(verify(`Basic   ${token}`)).toBe(true);
  });

  it.each(['Xasic', 'bXsic', 'baXic', 'basXc', 'basiX', 'Basi', 'Bearer'])(
    'refuses the right token under the scheme %s',
    (scheme) => {
      expect(verify(basicOf(`${user}:${pass}`, scheme))).toBe(false);
    },
  );

  describe('the base64 token', () => {
    const v = createBasicAuthVerifier({ credentials: { username: 'u', password: 'pw' } });
    // "u:pw" is dTpwdw== in base64.

    it('accepts it padded or unpadded', () => {
      expect(v('Basic dTpwdw==')).toBe(true);
      expect(v('Basic dTpwdw')).toBe(true);
    });

    it.each([
      ['a dangling sixth character', 'dTpwdwA'],
      ['too little padding', 'dTpwdw='],
      ['too much padding', 'dTpwdw==='],
      ['padding where none is due', 'dTpw===='],
      ['padding alone', '=='],
      ['a character outside the alphabet', 'dTpw*w=='],
    ])('refuses %s (%s)', (_, token) => {
      expect(v(`Basic ${token}`)).toBe(false);
    });

    it('refuses a token one digit past a whole group, even when the rest decodes right', () => {
      const short = createBasicAuthVerifier({ credentials: { username: 'u', password: 'p' } });
      // "u:p" is dTpw; a fifth digit carries six bits, less than a byte.
      expect(short('Basic dTpw')).toBe(true);
      expect(short('Basic dTpwA')).toBe(false);
    });

    it('refuses a non-ASCII character in place of any base64 digit', () => {
      const x = createBasicAuthVerifier({
        credentials: { username: 'clik2pay', password: 'x@@y' },
      });
      const token = 'Y2xpazJwYXk6eEBAeQ==';
      expect(x(`Basic ${token}`)).toBe(true);
      // U+0080 just past ASCII where the digit A (0) stands, U+00FF where B (1) stands.
      expect(x(`Basic ${token.replace('A', '\u0080')}`)).toBe(false);
      expect(x(`Basic ${token.replace('B', '\u00ff')}`)).toBe(false);
      expect(x(`Basic ${token.replace('A', '\u0100')}`)).toBe(false);
    });

    it('accepts a header of up to 4,096 characters, and refuses a longer one', () => {
      // "u:" and a password of 3,065 bytes: 3,067 bytes, 4,090 base64 digits unpadded.
      const long = createBasicAuthVerifier({
        credentials: { username: 'u', password: 'p'.repeat(3_065) },
      });
      const header = encodeBasicAuth('u', 'p'.repeat(3_065)).replace(/=+$/, '');
      expect(header).toHaveLength(4_096);
      expect(long(header)).toBe(true);
      expect(long(` ${header}`)).toBe(false);
      expect(long(`${header} `)).toBe(false);
    });
  });

  it('refuses a non-ASCII token without a colon, even one that ends like the password', () => {
    // Read wrongly as username "é" and password "éx", it would match.
    const v = createBasicAuthVerifier({ credentials: { username: 'é', password: 'éx' } });
    expect(v(basicOf('é:éx'))).toBe(true);
    expect(v(basicOf('éx'))).toBe(false);
  });

  it('splits at the first colon: the password may contain colons', () => {
    const v = createBasicAuthVerifier({ credentials: { username: 'u', password: ':a:b:' } });
    expect(v(basicOf('u::a:b:'))).toBe(true);
    expect(v(basicOf('u:a:b:'))).toBe(false);
    expect(v(basicOf('u::a:b'))).toBe(false);
  });

  it('accepts non-ASCII UTF-8 in both halves', () => {
    const v = createBasicAuthVerifier({
      credentials: { username: 'çlik2päy', password: 'mot de passe 日本語 🔑' },
    });
    expect(v(basicOf('çlik2päy:mot de passe 日本語 🔑'))).toBe(true);
    expect(v(basicOf('clik2pay:mot de passe 日本語 🔑'))).toBe(false);
  });

  it('treats NFC and NFD spellings of the same text alike (RFC 7613 normalisation)', () => {
    const v = createBasicAuthVerifier({ credentials: { username: 'jos\u00e9', password: 'p' } });
    expect(v(basicOf('jose\u0301:p'))).toBe(true);
  });

  it('rejects Latin-1 bytes that are not UTF-8', () => {
    const v = createBasicAuthVerifier({ credentials: { username: 'test', password: '123\u00a3' } });
    // "test:123£" in ISO-8859-1: 0xa3 alone is not valid UTF-8.
    expect(v(basicOfBytes([0x74, 0x65, 0x73, 0x74, 0x3a, 0x31, 0x32, 0x33, 0xa3]))).toBe(false);
    expect(v('Basic dGVzdDoxMjPCow==')).toBe(true);
  });

  it.each([
    ['NUL in the password', `${user}:${pass}\u0000`],
    ['NUL in the username', `${user}\u0000:${pass}`],
    ['a tab', `${user}:\t${pass}`],
    ['a newline', `${user}:${pass}\n`],
    ['DEL', `${user}:${pass}\u007f`],
  ])('rejects control characters: %s', (_name, text) => {
    expect(verify(basicOf(text))).toBe(false);
  });

  it('rejects the right password with a wrong username, and the reverse', () => {
    expect(verify(encodeBasicAuth('clik2paY', pass))).toBe(false);
    expect(verify(encodeBasicAuth('someone', pass))).toBe(false);
    expect(verify(encodeBasicAuth(user, 's3cret:with:colonS'))).toBe(false);
    expect(verify(encodeBasicAuth(user, 's3cret:with:colons '))).toBe(false);
    expect(verify(encodeBasicAuth(user, 's3cret:with:colon'))).toBe(false);
    expect(verify(encodeBasicAuth(user, ''))).toBe(false);
  });

  it('does not mix the halves of two accepted pairs', () => {
    const v = createBasicAuthVerifier({
      credentials: [
        { username: 'old', password: 'old-password' },
        { username: 'new', password: 'new-password' },
      ],
    });
    expect(v(encodeBasicAuth('old', 'old-password'))).toBe(true);
    expect(v(encodeBasicAuth('new', 'new-password'))).toBe(true);
    expect(v(encodeBasicAuth('old', 'new-password'))).toBe(false);
    expect(v(encodeBasicAuth('new', 'old-password'))).toBe(false);
    expect(v(encodeBasicAuth('other', 'old-password'))).toBe(false);
  });

  it.each([
    ['missing', undefined],
    ['null', null],
    ['empty', ''],
    ['the scheme alone', 'Basic'],
    ['the scheme and a space', 'Basic '],
    ['another scheme', `Bearer ${encodeBasicAuth(user, pass).slice(6)}`],
    ['a longer scheme name', `Basicx ${encodeBasicAuth(user, pass).slice(6)}`],
    ['no space after the scheme', `Basic${encodeBasicAuth(user, pass).slice(6)}`],
    ['a tab after the scheme', `Basic\t${encodeBasicAuth(user, pass).slice(6)}`],
    ['raw credentials, not base64', `Basic ${user}:${pass}`],
    ['malformed base64', 'Basic !!!!'],
    ['base64 of impossible length', 'Basic Y2xpa'],
    ['padding in the middle', 'Basic Y2=xpazJwYXk='],
    ['two headers joined', `${encodeBasicAuth(user, pass)}, ${encodeBasicAuth(user, pass)}`],
    ['no colon', basicOf(`${user}${pass}`)],
    ['empty credentials', basicOf(':')],
    ['empty username', basicOf(`:${pass}`)],
    ['empty password', basicOf(`${user}:`)],
    ['an oversized header', `Basic ${'A'.repeat(5000)}`],
  ])('rejects %s', (_name, header) => {
    expect(verify(header)).toBe(false);
  });

  it('matches the usual spelling as text, and nothing near it', () => {
    // The usual header (`Basic `, padded base64) is compared as text before any
    // decoding: what is near it (cut, extended, one character off, the other pair's)
    // must still be refused, and the other spellings still go to the decoder.
    const pairs = [
      { username: user, password: pass },
      { username: 'rotated', password: 'caf\u00e9' },
    ];
    const both = createBasicAuthVerifier({ credentials: pairs });
    const usual = pairs.map((pair) => encodeBasicAuth(pair.username, pair.password));
    for (const header of usual) {
      expect(both(header)).toBe(true);
      expect(both(header.slice(0, -1))).toBe(false);
      expect(both(`${header}A`)).toBe(false);
      expect(both(`${header}\u0000`)).toBe(false);
      expect(both(`${header.slice(0, 6)}${header[6] === 'A' ? 'B' : 'A'}${header.slice(7)}`)).toBe(
        false,
      );
      expect(both(header.slice(0, 6))).toBe(false);
      expect(both(`basic ${header.slice(6)}`)).toBe(true);
      expect(both(`Basic  ${header.slice(6)}`)).toBe(true);
    }
    expect(both('')).toBe(false);
    // NFD spelling of the second password: not the usual text, accepted by the decoder.
    expect(both(basicOf('rotated:cafe\u0301'))).toBe(true);
    // The one-pair verifier does not accept the other pair's usual header.
    expect(verify(usual[1])).toBe(false);
  });

  it('answers the one-shot form the same way', () => {
    expect(verifyBasicAuth(encodeBasicAuth(user, pass), { username: user, password: pass })).toBe(
      true,
    );
    expect(verifyBasicAuth(encodeBasicAuth(user, 'x'), [{ username: user, password: pass }])).toBe(
      false,
    );
  });

  describe('configuration errors name the option', () => {
    it.each([
      [{ username: '', password: 'p' }, 'options.credentials.username: must be a non-empty string'],
      [{ username: 'u', password: '' }, 'options.credentials.password: must be a non-empty string'],
      [
        { username: 'a:b', password: 'p' },
        'options.credentials.username: must not contain a colon',
      ],
      [
        { username: 'u\n', password: 'p' },
        'options.credentials.username: must not contain control characters',
      ],
      [
        { username: 'u', password: 'p\u0000' },
        'options.credentials.password: must not contain control characters',
      ],
    ])('%j', (credentials, message) => {
      const error = configError(() => createBasicAuthVerifier({ credentials }));
      expect(error.code).toBe('INVALID_OPTIONS');
      expect(error.message).toBe(`[@c2p/core] ${message}`);
    });

    it('names the index of a bad pair in a list', () => {
      const error = configError(() =>
        createBasicAuthVerifier({
          credentials: [
            { username: 'u', password: 'p' },
            { username: 'v', password: '' },
          ],
        }),
      );
      expect(error.message).toBe(
        '[@c2p/core] options.credentials[1].password: must be a non-empty string',
      );
    });

    it('requires at least one pair', () => {
      expect(configError(() => createBasicAuthVerifier({ credentials: [] })).message).toBe(
        '[@c2p/core] options.credentials: at least one username and password pair is required',
      );
    });

    it('uses the given option path', () => {
      const error = configError(() =>
        createBasicAuthVerifier({
          credentials: { username: '', password: 'p' },
          optionPath: 'auth',
        }),
      );
      expect(error.message).toBe('[@c2p/core] auth.username: must be a non-empty string');
    });

    it('does not put the password in the message', () => {
      const error = configError(() =>
        createBasicAuthVerifier({ credentials: { username: 'u', password: 'TOPSECRET\u0007' } }),
      );
      expect(error.message).not.toContain('TOPSECRET');
    });

    it('rejects ill-formed UTF-16 (a lone surrogate), which UTF-8 cannot carry', () => {
      const error = configError(() =>
        createBasicAuthVerifier({ credentials: { username: 'u', password: 'p\ud800' } }),
      );
      expect(error.message).toBe(
        '[@c2p/core] options.credentials.password: must be well-formed Unicode (no lone surrogates)',
      );
    });
  });

  // Hundreds of generated cases each: under a loaded CI machine one took over 5 s.
  describe('properties', { timeout: 30_000 }, () => {
    // What RFC 7617 allows in a user-id: no colon, no control characters.
    const hasControl = (s: string): boolean =>
      [...s].some((c) => c.charCodeAt(0) < 0x20 || c.charCodeAt(0) === 0x7f);
    const isUserId = (s: string): boolean => s !== '' && !s.includes(':') && !hasControl(s);
    const isPassword = (s: string): boolean => s !== '' && !hasControl(s);
    const username = fc.string({ unit: 'grapheme', minLength: 1, maxLength: 12 }).filter(isUserId);
    const password = fc
      .string({ unit: 'grapheme', minLength: 1, maxLength: 16 })
      .filter(isPassword);
    const same = (a: string, b: string): boolean => a.normalize('NFC') === b.normalize('NFC');

    it('never throws on arbitrary header strings', () => {
      fc.assert(
        fc.property(fc.string({ unit: 'binary', maxLength: 100 }), (header) => {
          expect(typeof verify(header)).toBe('boolean');
          expect(typeof verify(`Basic ${header}`)).toBe('boolean');
        }),
        { numRuns: 300 },
      );
    });

    it('never throws on base64 of arbitrary bytes', () => {
      fc.assert(
        fc.property(fc.uint8Array({ maxLength: 80 }), (bytes) => {
          expect(verify(basicOfBytes([...bytes]))).toBe(false);
        }),
        { numRuns: 300 },
      );
    });

    it('accepts exactly the configured pairs', () => {
      fc.assert(
        fc.property(username, password, username, password, (u, p, otherU, otherP) => {
          const v = createBasicAuthVerifier({ credentials: { username: u, password: p } });
          expect(v(encodeBasicAuth(u, p))).toBe(true);
          expect(v(encodeBasicAuth(otherU, otherP))).toBe(same(u, otherU) && same(p, otherP));
          expect(v(encodeBasicAuth(u, otherP))).toBe(same(p, otherP));
          expect(v(encodeBasicAuth(otherU, p))).toBe(same(u, otherU));
        }),
        { numRuns: 300 },
      );
    });

    it('accepts exactly the configured pairs among several', () => {
      const pair = fc.record({ username, password });
      fc.assert(
        fc.property(fc.array(pair, { minLength: 1, maxLength: 4 }), pair, (pairs, other) => {
          const v = createBasicAuthVerifier({ credentials: pairs });
          for (const p of pairs) expect(v(encodeBasicAuth(p.username, p.password))).toBe(true);
          const listed = pairs.some(
            (p) => same(p.username, other.username) && same(p.password, other.password),
          );
          expect(v(encodeBasicAuth(other.username, other.password))).toBe(listed);
        }),
        { numRuns: 200 },
      );
    });

    it('rejects any change to a single byte of the credentials', () => {
      fc.assert(
        fc.property(
          username,
          password,
          fc.nat(),
          fc.integer({ min: 1, max: 255 }),
          (u, p, at, flip) => {
            const v = createBasicAuthVerifier({ credentials: { username: u, password: p } });
            const bytes = [
              ...new TextEncoder().encode(`${u.normalize('NFC')}:${p.normalize('NFC')}`),
            ];
            const i = at % bytes.length;
            bytes[i] = (bytes[i] as number) ^ flip;
            expect(v(basicOfBytes(bytes))).toBe(false);
          },
        ),
        { numRuns: 300 },
      );
    });
  });
});
