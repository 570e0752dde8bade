import fc from 'fast-check';
import ipaddr from 'ipaddr.js';
import { describe, expect, it } from 'vitest';
import { C2pError } from '../src/errors.js';
import {
  canonicalIpAddress,
  clik2payIps,
  createIpAllowlist,
  parseIpAddress,
} from '../src/ip-allowlist.js';

function configError(fn: () => unknown): C2pError {
  try {
    fn();
  } catch (error) {
    expect(error).toBeInstanceOf(C2pError);
    expect((error as C2pError).code).toBe('INVALID_OPTIONS');
    return error as C2pError;
  }
  throw new Error('expected a configuration error');
}

describe('createIpAllowlist', () => {
  it('matches the edges of an IPv4 /24 and nothing past them', () => {
    const list = createIpAllowlist(['10.1.2.0/24']);
    expect(list.allows('10.1.2.0')).toBe(true);
    expect(list.allows('10.1.2.255')).toBe(true);
    expect(list.allows('10.1.2.128')).toBe(true);
    expect(list.allows('10.1.1.255')).toBe(false);
    expect(list.allows('10.1.3.0')).toBe(false);
  });

  it('matches a /24 written with host bits set as the same network', () => {
    const list = createIpAllowlist(['10.1.2.77/24']);
    expect(list.allows('10.1.2.0')).toBe(true);
    expect(list.allows('10.1.3.0')).toBe(false);
  });

  it('matches exactly one address for /32', () => {
    const list = createIpAllowlist(['192.0.2.7/32']);
    expect(list.allows('192.0.2.7')).toBe(true);
    expect(list.allows('192.0.2.6')).toBe(false);
    expect(list.allows('192.0.2.8')).toBe(false);
  });

  it('matches every IPv4 address for 0.0.0.0/0, and no IPv6 one', () => {
    const list = createIpAllowlist(['0.0.0.0/0']);
    expect(list.allows('0.0.0.0')).toBe(true);
    expect(list.allows('255.255.255.255')).toBe(true);
    expect(list.allows('::ffff:1.2.3.4')).toBe(true);
    expect(list.allows('2001:db8::1')).toBe(false);
  });

  it('matches every IPv6 address for ::/0', () => {
    const list = createIpAllowlist(['::/0']);
    expect(list.allows('::')).toBe(true);
    expect(list.allows('ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff')).toBe(true);
  });

  it('matches the edges of an IPv6 /64', () => {
    const list = createIpAllowlist(['2001:db8:1:2::/64']);
    expect(list.allows('2001:db8:1:2::')).toBe(true);
    expect(list.allows('2001:db8:1:2:ffff:ffff:ffff:ffff')).toBe(true);
    expect(list.allows('2001:db8:1:1:ffff:ffff:ffff:ffff')).toBe(false);
    expect(list.allows('2001:db8:1:3::')).toBe(false);
  });

  it('folds an IPv4-mapped IPv6 peer to IPv4, for exact rules and CIDRs', () => {
    const list = createIpAllowlist(['3.99.39.224', '10.0.0.0/8']);
    expect(list.allows('::ffff:3.99.39.224')).toBe(true);
    expect(list.allows('::FFFF:3.99.39.224')).toBe(true);
    expect(list.allows('0:0:0:0:0:ffff:363:27e0')).toBe(true);
    expect(list.allows('::ffff:10.200.0.1')).toBe(true);
    expect(list.allows('::ffff:3.99.39.225')).toBe(false);
    expect(list.allows('::ffff:11.0.0.1')).toBe(false);
  });

  it('accepts a rule written IPv4-mapped, exact or as a CIDR', () => {
    const list = createIpAllowlist(['::ffff:3.99.39.224', '::ffff:10.0.0.0/104']);
    expect(list.allows('3.99.39.224')).toBe(true);
    expect(list.allows('10.255.255.255')).toBe(true);
    expect(list.allows('11.0.0.0')).toBe(false);
  });

  it('matches non-canonical IPv6 spellings of an exact rule', () => {
    const list = createIpAllowlist(['2001:db8::1']);
    for (const spelling of [
      '2001:db8::1',
      '2001:0db8::0001',
      '2001:DB8::1',
      '2001:0DB8:0000:0000:0000:0000:0000:0001',
      '2001:db8:0:0::1',
    ]) {
      expect(list.allows(spelling), spelling).toBe(true);
    }
    expect(list.allows('2001:db8::2')).toBe(false);
  });

  it('matches an exact rule written non-canonically', () => {
    const list = createIpAllowlist(['2001:0DB8:0000::0001']);
    expect(list.allows('2001:db8::1')).toBe(true);
  });

  it.each(Object.entries(clik2payIps))('expands the preset %s', (name, addresses) => {
    const list = createIpAllowlist([name]);
    for (const address of addresses) expect(list.allows(address.replace(/\/8$/, ''))).toBe(true);
  });

  it('knows the documented production and sandbox addresses', () => {
    expect(clik2payIps.production).toEqual(['3.99.39.224', '3.96.30.80', '52.60.229.252']);
    expect(clik2payIps.sandbox).toEqual(['99.79.143.93', '3.96.21.104', '52.60.117.97']);
    const production = createIpAllowlist(['production']);
    expect(production.allows('52.6.229.252')).toBe(false);
    expect(production.allows('99.79.143.93')).toBe(false);
    const sandbox = createIpAllowlist(['Sandbox ']);
    expect(sandbox.allows('99.79.143.93')).toBe(true);
    expect(sandbox.allows('3.99.39.224')).toBe(false);
  });

  it('expands loopback to 127.0.0.0/8 and ::1', () => {
    const list = createIpAllowlist(['loopback']);
    expect(list.allows('127.0.0.1')).toBe(true);
    expect(list.allows('127.255.255.254')).toBe(true);
    expect(list.allows('::1')).toBe(true);
    expect(list.allows('::ffff:127.0.0.1')).toBe(true);
    expect(list.allows('128.0.0.1')).toBe(false);
    expect(list.allows('::2')).toBe(false);
  });

  it('combines presets, addresses and CIDRs', () => {
    const list = createIpAllowlist(['production', '192.0.2.0/24', '2001:db8::5']);
    expect(list.allows('3.96.30.80')).toBe(true);
    expect(list.allows('192.0.2.99')).toBe(true);
    expect(list.allows('2001:db8::5')).toBe(true);
    expect(list.allows('198.51.100.1')).toBe(false);
  });

  it('refuses an empty list, which would deny everything', () => {
    expect(() => createIpAllowlist([])).toThrow(
      '[@c2p/core] options.allowedIps: is empty, which would refuse every request',
    );
  });

  it.each([
    ['undefined', undefined],
    ['null', null],
    ['empty', ''],
  ])('denies a missing address (%s)', (_name, address) => {
    expect(createIpAllowlist(['0.0.0.0/0', '::/0']).allows(address)).toBe(false);
  });

  it.each([
    'not-an-ip',
    '3.99.39',
    '3.99.39.224.1',
    '3.99.39.256',
    '003.099.039.224',
    '03.99.39.224',
    '0x3.99.39.224',
    '3.99.39.224:443',
    '[::1]',
    '[::1]:443',
    ' 3.99.39.224',
    '3.99.39.224 ',
    '3.99.39.224/32',
    '1::2::3',
    '2001:db8::g',
    '::ffff:0x3.99.39.224',
    '::ffff:003.99.39.224',
    '::ffff:3.99.39.0224',
    'production',
  ])('denies the malformed address %j', (address) => {
    const list = createIpAllowlist(['production', '0.0.0.0/0', '::/0']);
    expect(list.allows(address)).toBe(false);
  });

  it('does not fold the deprecated IPv4-compatible form ::a.b.c.d to IPv4', () => {
    // ::3.99.39.224 is the IPv6 address ::363:27e0, not the IPv4 address 3.99.39.224.
    const list = createIpAllowlist(['production']);
    expect(list.allows('::3.99.39.224')).toBe(false);
    expect(createIpAllowlist(['::/96']).allows('::3.99.39.224')).toBe(true);
  });

  it.each([
    [['10.0.0.0/33'], 0, '"10.0.0.0/33"'],
    [['production', '10.0.0.0/8', '10.0.0.0/33'], 2, '"10.0.0.0/33"'],
    [['2001:db8::/129'], 0, '"2001:db8::/129"'],
    [['10.0.0.0/'], 0, '"10.0.0.0/"'],
    [['10.0.0.0/-1'], 0, '"10.0.0.0/-1"'],
    [['10.0.0.0/8/8'], 0, '"10.0.0.0/8/8"'],
    [['1.2.3'], 0, '"1.2.3"'],
    [['prod'], 0, '"prod"'],
    [[''], 0, '""'],
    [['::ffff:10.0.0.0/95'], 0, '"::ffff:10.0.0.0/95"'],
  ])('throws on the bad rule %j naming options.allowedIps[%i]', (rules, index, shown) => {
    const error = configError(() => createIpAllowlist(rules));
    expect(error.message).toBe(
      `[@c2p/core] options.allowedIps[${index}]: ${shown} is not an address, CIDR or preset name (production, sandbox, loopback)`,
    );
  });

  it('throws on a rule that is not a string, and on rules that are not an array', () => {
    expect(configError(() => createIpAllowlist([42 as unknown as string])).message).toBe(
      '[@c2p/core] options.allowedIps[0]: is not a string',
    );
    expect(configError(() => createIpAllowlist('production' as unknown as string[])).message).toBe(
      '[@c2p/core] options.allowedIps: must be an array of addresses, CIDRs or preset names',
    );
  });

  it('names the given option path', () => {
    const error = configError(() => createIpAllowlist(['x'], { optionPath: 'allow' }));
    expect(error.message.startsWith('[@c2p/core] allow[0]: "x"')).toBe(true);
  });
});

describe('parseIpAddress', () => {
  it('parses and canonicalises', () => {
    const v4 = parseIpAddress('::ffff:3.99.39.224');
    expect(v4?.kind()).toBe('ipv4');
    expect(v4 && canonicalIpAddress(v4)).toBe('3.99.39.224');
    const v6 = parseIpAddress('2001:DB8::1');
    expect(v6 && canonicalIpAddress(v6)).toBe('2001:db8:0:0:0:0:0:1');
    const zoned = parseIpAddress('fe80::1%eth0');
    expect(zoned && canonicalIpAddress(zoned)).toBe('fe80:0:0:0:0:0:0:1');
    const compat = parseIpAddress('::3.99.39.224');
    expect(compat && canonicalIpAddress(compat)).toBe('0:0:0:0:0:0:363:27e0');
  });

  it('drops a zone before reading an embedded IPv4 address', () => {
    const mapped = parseIpAddress('::ffff:1.2.3.4%eth0');
    expect(mapped && canonicalIpAddress(mapped)).toBe('1.2.3.4');
  });

  it('reads only a leading :: followed by IPv4 as the IPv4-compatible form', () => {
    // The NAT64 prefix 64:ff9b::/96 keeps its high bits.
    const nat64 = parseIpAddress('64:ff9b::1.2.3.4');
    expect(nat64 && canonicalIpAddress(nat64)).toBe('64:ff9b:0:0:0:0:102:304');
    expect(createIpAllowlist(['::1.2.3.4']).allows('64:ff9b::1.2.3.4')).toBe(false);
  });

  it('refuses a CIDR whose address part is not an address, naming it', () => {
    for (const rule of ['gateway/8', '/8', '10.0.0/8']) {
      expect(() => createIpAllowlist([rule]), rule).toThrow(
        `[@c2p/core] options.allowedIps[0]: ${JSON.stringify(rule)} is not an address, CIDR or preset name`,
      );
    }
  });

  it('refuses a CIDR whose prefix length is not one to three digits', () => {
    for (const rule of [
      '10.0.0.0/',
      '10.0.0.0/x',
      '10.0.0.0/+8',
      '10.0.0.0/ 8',
      '10.0.0.0/0x8',
      '10.0.0.0/8.0',
      '10.0.0.0/1e1',
    ]) {
      expect(() => createIpAllowlist([rule]), rule).toThrow(
        `[@c2p/core] options.allowedIps[0]: ${JSON.stringify(rule)} is not an address, CIDR or preset name`,
      );
    }
  });

  it('answers undefined for what is not an address', () => {
    for (const value of ['', 'x', '1.2.3.4/8', '[::1]', '::ffff:1.2.3', '::ffff:01.2.3.4']) {
      expect(parseIpAddress(value), value).toBeUndefined();
    }
  });
});

describe('the IPv4 fast path', () => {
  const octets = fc.tuple(
    fc.integer({ min: 0, max: 255 }),
    fc.integer({ min: 0, max: 255 }),
    fc.integer({ min: 0, max: 255 }),
    fc.integer({ min: 0, max: 255 }),
  );

  it('agrees with ipaddr.js on every address and CIDR, mapped or not', () => {
    fc.assert(
      fc.property(octets, octets, fc.integer({ min: 0, max: 32 }), (address, network, bits) => {
        const peer = address.join('.');
        const rule = `${network.join('.')}/${bits}`;
        const expected = ipaddr.IPv4.parse(peer).match(ipaddr.IPv4.parseCIDR(rule));
        const allowlist = createIpAllowlist([rule]);
        expect(allowlist.allows(peer)).toBe(expected);
        expect(allowlist.allows(`::ffff:${peer}`)).toBe(expected);
      }),
      { numRuns: 2000 },
    );
  });

  it('refuses what is not strict dotted decimal', () => {
    const allowlist = createIpAllowlist(['0.0.0.0/0']);
    for (const bad of [
      '1.2.3',
      '1.2.3.4.5',
      '01.2.3.4',
      '1.2.3.256',
      '1..2.3',
      '1.2.3.4 ',
      '1.2.3.',
      '.1.2.3',
      '1.2.3.1000',
      '1.2.3.a',
      '1.2.3.:',
      '1.2.3.4x',
    ]) {
      expect(allowlist.allows(bad), bad).toBe(false);
    }
    expect(allowlist.allows('0.0.0.0')).toBe(true);
    expect(allowlist.allows('255.255.255.255')).toBe(true);
  });
});
