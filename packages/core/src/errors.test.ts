import { describe, expect, it } from 'vitest';
import { C2pError, storeUnavailable } from './errors.js';

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
