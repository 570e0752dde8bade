import { describe, expect, it } from 'vitest';
import {
  C2pError,
  errorCodes,
  integerOption,
  isC2pError,
  storeClosed,
  storeUnavailable,
} from '../src/errors.js';

describe('storeUnavailable', () => {
  it('wraps a backend error as STORE_UNAVAILABLE (503), keeping the cause', () => {
    const cause = new Error('connect ECONNREFUSED');
    const error = storeUnavailable(cause);
    expect(error).toBeInstanceOf(C2pError);
    expect([error.code, error.status, error.cause]).toEqual(['STORE_UNAVAILABLE', 503, cause]);
    expect(error.message).toBe('The idempotency store is unavailable.');
  });

  it('passes a STORE_UNAVAILABLE through and wraps any other C2pError', () => {
    const already = new C2pError('STORE_UNAVAILABLE', { message: 'closed' });
    expect(storeUnavailable(already)).toBe(already);
    const other = new C2pError('INVALID_OPTIONS');
    expect(storeUnavailable(other).cause).toBe(other);
  });

  it('takes a message of its own', () => {
    expect(storeUnavailable(new Error('42P01'), 'run migrate()').message).toBe('run migrate()');
  });
});

describe('storeClosed', () => {
  it('is STORE_UNAVAILABLE naming the package', () => {
    const error = storeClosed('@c2p/store-x');
    expect([error.code, error.status, error.message]).toEqual([
      'STORE_UNAVAILABLE',
      503,
      '[@c2p/store-x] the store is closed',
    ]);
  });
});

describe('integerOption', () => {
  it('answers the value, or the fallback when undefined', () => {
    expect(integerOption(5, 'options.n', { fallback: 7 })).toBe(5);
    expect(integerOption(undefined, 'options.n', { fallback: 7 })).toBe(7);
    expect(integerOption(undefined, 'options.n')).toBeUndefined();
    expect(integerOption(0, 'options.n', { min: 0 })).toBe(0);
  });

  it.each([
    [0, 1, 'must be a positive integer'],
    [-1, 0, 'must be a non-negative integer'],
    [1.5, 0, 'must be a non-negative integer'],
    ['5', 1, 'must be a positive integer'],
    [Number.NaN, 1, 'must be a positive integer'],
    [2 ** 53, 1, 'must be a positive integer'],
    [2, 3, 'must be an integer of at least 3'],
  ])('refuses %j with min %d, naming the option and the package', (value, min, problem) => {
    const error = (() => {
      try {
        integerOption(value, 'options.n', { min, pkg: '@c2p/x' });
      } catch (thrown) {
        return thrown as C2pError;
      }
    })();
    expect(error).toBeInstanceOf(C2pError);
    expect([error?.code, error?.message]).toEqual([
      'INVALID_OPTIONS',
      `[@c2p/x] options.n: ${problem}`,
    ]);
  });
});

describe('errorCodes', () => {
  it('names the pipeline step of every delivery code, in the order of the pipeline', () => {
    const steps = Object.values(errorCodes).map((entry) => entry.step);
    expect(steps).toEqual([
      'method',
      'ip',
      'auth',
      'size',
      'json',
      'payload',
      'payload',
      'events',
      'events',
      'events',
      'events',
      'options',
    ]);
  });
});

describe('C2pError and isC2pError', () => {
  it('is named C2pError, with the status and message of its code', () => {
    const error = new C2pError('IP_NOT_ALLOWED');
    expect([error.name, error.status, error.message]).toEqual([
      'C2pError',
      403,
      'The client address is not allowed.',
    ]);
    expect(String(error)).toBe('C2pError: The client address is not allowed.');
  });

  it('recognises any C2pError, or one code', () => {
    const error = new C2pError('INVALID_OPTIONS');
    expect(isC2pError(error)).toBe(true);
    expect(isC2pError(error, 'INVALID_OPTIONS')).toBe(true);
    expect(isC2pError(error, 'STORE_UNAVAILABLE')).toBe(false);
    expect(isC2pError(new Error('x'))).toBe(false);
    expect(isC2pError({ code: 'INVALID_OPTIONS' })).toBe(false);
  });
});
