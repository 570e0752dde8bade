import { describe, expect, it } from 'vitest';
import { createClientIpResolver } from '../src/client-ip.js';
import { C2pError } from '../src/errors.js';
import { createIpAllowlist } from '../src/ip-allowlist.js';

describe('createClientIpResolver', () => {
  it('without trusted proxies, answers the peer and ignores X-Forwarded-For', () => {
    const resolve = createClientIpResolver();
    expect(resolve('198.51.100.9', '3.99.39.224')).toBe('198.51.100.9');
    expect(resolve(undefined, '3.99.39.224')).toBeUndefined();
    expect(resolve(null, '3.99.39.224')).toBeUndefined();
  });

  const resolve = createClientIpResolver({ trustedProxies: ['10.0.0.0/8', '2001:db8::/32'] });

  it('ignores a spoofed X-Forwarded-For from an untrusted peer', () => {
    expect(resolve('198.51.100.9', '3.99.39.224')).toBe('198.51.100.9');
    expect(resolve('198.51.100.9', '10.0.0.1, 3.99.39.224')).toBe('198.51.100.9');
  });

  it('answers the peer when a trusted peer sends no X-Forwarded-For', () => {
    expect(resolve('10.0.0.1', undefined)).toBe('10.0.0.1');
    expect(resolve('10.0.0.1', null)).toBe('10.0.0.1');
    expect(resolve('10.0.0.1', '')).toBe('10.0.0.1');
  });

  it('answers the last hop when the peer is a trusted proxy', () => {
    expect(resolve('10.0.0.1', '3.99.39.224')).toBe('3.99.39.224');
  });

  it('walks right to left through trusted hops to the first untrusted one', () => {
    // The client may prepend anything: only what trusted proxies appended counts.
    expect(resolve('10.0.0.1', '3.99.39.224, 198.51.100.9, 10.0.0.3, 10.0.0.2')).toBe(
      '198.51.100.9',
    );
    expect(resolve('10.0.0.1', '3.99.39.224,10.0.0.3,2001:db8::7')).toBe('3.99.39.224');
  });

  it('answers the leftmost hop when every hop is trusted', () => {
    expect(resolve('10.0.0.1', '10.0.0.4, 10.0.0.3, 10.0.0.2')).toBe('10.0.0.4');
  });

  it('skips empty hops', () => {
    expect(resolve('10.0.0.1', ' , 3.99.39.224 , ,')).toBe('3.99.39.224');
    expect(resolve('10.0.0.1', ' , ')).toBe('10.0.0.1');
  });

  it('recognises a trusted peer written IPv4-mapped', () => {
    expect(resolve('::ffff:10.0.0.1', '3.99.39.224')).toBe('3.99.39.224');
  });

  it('answers a garbage hop as it is, and the allowlist denies it', () => {
    const allowlist = createIpAllowlist(['production', '10.0.0.0/8']);
    for (const xff of ['3.99.39.224, garbage', '3.99.39.224, 198.51.100.9:443', 'unknown']) {
      const client = resolve('10.0.0.1', xff);
      expect(client).not.toBe('3.99.39.224');
      expect(allowlist.allows(client)).toBe(false);
    }
  });

  it('throws on a bad trusted proxy, naming it', () => {
    expect(() => createClientIpResolver({ trustedProxies: ['10.0.0.0/8', 'proxy'] })).toThrow(
      new C2pError('INVALID_OPTIONS', {
        message:
          '[@c2p/core] options.trustedProxies[1]: "proxy" is not an address, CIDR or preset name (production, sandbox, loopback)',
      }),
    );
  });
});
