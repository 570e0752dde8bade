import ipaddr from 'ipaddr.js';
import { invalidOption } from './errors.js';

/**
 * Clik2pay's documented source addresses. Lists change: pass your own rules
 * when Clik2pay announces new ones.
 */
export const clik2payIps = {
  production: ['3.99.39.224', '3.96.30.80', '52.60.229.252'],
  sandbox: ['99.79.143.93', '3.96.21.104', '52.60.117.97'],
  loopback: ['127.0.0.0/8', '::1'],
} as const satisfies Record<string, readonly string[]>;

/** A preset name usable as a rule: `production`, `sandbox` or `loopback`. */
export type IpPreset = keyof typeof clik2payIps;

/** Options for {@link createIpAllowlist}. */
export interface IpAllowlistOptions {
  /** Names the option in error messages. Defaults to `options.allowedIps`. */
  optionPath?: string;
}

/** A compiled allowlist. */
export interface IpAllowlist {
  /** Is `address` allowed? A missing or malformed address is denied. */
  allows(address: string | null | undefined): boolean;
}

type Address = ipaddr.IPv4 | ipaddr.IPv6;

/**
 * Parses an IPv4 (strict dotted decimal) or IPv6 address, folding an
 * IPv4-mapped IPv6 address (`::ffff:a.b.c.d`) to IPv4. Answers `undefined` for
 * anything else, ports and brackets included.
 */
export function parseIpAddress(value: string): Address | undefined {
  if (ipaddr.IPv4.isValidFourPartDecimal(value)) return ipaddr.IPv4.parse(value);
  if (!ipaddr.IPv6.isValid(value)) return undefined;
  let v6 = ipaddr.IPv6.parse(value);
  const bare = value.replace(/%.*$/, '');
  if (bare.includes('.')) {
    // ipaddr.js reads an embedded IPv4 leniently (leading zeros, hex) and reads the
    // deprecated IPv4-compatible `::a.b.c.d` as if it were `::ffff:a.b.c.d`.
    if (!ipaddr.IPv4.isValidFourPartDecimal(bare.slice(bare.lastIndexOf(':') + 1)))
      return undefined;
    if (/^::\d/.test(bare)) v6 = new ipaddr.IPv6([0, 0, 0, 0, 0, 0, ...v6.parts.slice(6)]);
  }
  return v6.isIPv4MappedAddress() ? v6.toIPv4Address() : v6;
}

/** The canonical text of an address: dotted decimal, or full-length IPv6 without zone. */
export function canonicalIpAddress(address: Address): string {
  return address.kind() === 'ipv4'
    ? address.toString()
    : (address as ipaddr.IPv6).toNormalizedString().replace(/%.*$/, '');
}

/**
 * Compiles an allowlist of addresses, CIDRs (IPv4 and IPv6) and preset names
 * (`production`, `sandbox`, `loopback`). Exact addresses take a set lookup;
 * CIDRs are matched after. A bad rule throws, naming it, and so does an empty
 * list, which would refuse everyone.
 *
 * @example
 * const allowlist = createIpAllowlist(['production', '10.0.0.0/8']);
 * allowlist.allows('3.99.39.224'); // true
 */
export function createIpAllowlist(
  rules: readonly string[],
  options: IpAllowlistOptions = {},
): IpAllowlist {
  const path = options.optionPath ?? 'options.allowedIps';
  if (!Array.isArray(rules))
    throw invalidOption(path, 'must be an array of addresses, CIDRs or preset names');
  if (rules.length === 0) {
    throw invalidOption(
      path,
      'is empty, which would refuse every request: name who may call, e.g. ["production"]',
    );
  }
  const exact = new Set<string>();
  // IPv4 CIDRs as [network, mask] integers: a peer in dotted decimal is matched
  // without building an address object. IPv6 CIDRs go through ipaddr.js.
  const v4Ranges: Array<[number, number]> = [];
  const v6Ranges: Array<[Address, number]> = [];
  rules.forEach((rule, index) => {
    const at = `${path}[${index}]`;
    if (typeof rule !== 'string') throw invalidOption(at, 'is not a string');
    const trimmed = rule.trim();
    const preset = clik2payIps[trimmed.toLowerCase() as IpPreset];
    for (const item of preset ?? [trimmed]) {
      const compiled = compileRule(item);
      if (compiled === undefined) {
        throw invalidOption(
          at,
          `${JSON.stringify(rule)} is not an address, CIDR or preset name (production, sandbox, loopback)`,
        );
      }
      if (typeof compiled === 'string') {
        exact.add(compiled);
        // Also accept the raw spelling, so a canonical peer address skips parsing.
        exact.add(item);
      } else if (compiled[0].kind() === 'ipv4') {
        const mask = compiled[1] === 0 ? 0 : (~0 << (32 - compiled[1])) >>> 0;
        v4Ranges.push([(ipv4ToInt(compiled[0].toString()) as number) & mask, mask]);
      } else v6Ranges.push(compiled);
    }
  });

  const inV4Range = (value: number): boolean => {
    for (const [network, mask] of v4Ranges) if ((value & mask) >>> 0 === network >>> 0) return true;
    return false;
  };

  return {
    allows(address) {
      if (typeof address !== 'string' || address === '') return false;
      if (exact.has(address)) return true;
      const v4 = ipv4ToInt(address);
      if (v4 !== undefined) return inV4Range(v4);
      const parsed = parseIpAddress(address);
      if (parsed === undefined) return false;
      const canonical = canonicalIpAddress(parsed);
      if (exact.has(canonical)) return true;
      if (parsed.kind() === 'ipv4') return inV4Range(ipv4ToInt(canonical) as number);
      for (const [range, bits] of v6Ranges) if (parsed.match(range, bits)) return true;
      return false;
    },
  };
}

/** Strict dotted decimal (no leading zeros, as ipaddr.js's four-part check) to an unsigned integer. */
function ipv4ToInt(text: string): number | undefined {
  let value = 0;
  let part = 0;
  let digits = 0;
  let parts = 0;
  for (let i = 0; i <= text.length; i++) {
    const code = i < text.length ? text.charCodeAt(i) : 0x2e;
    if (code === 0x2e) {
      if (digits === 0 || part > 255 || ++parts > 4) return undefined;
      value = value * 256 + part;
      part = 0;
      digits = 0;
    } else if (code >= 0x30 && code <= 0x39) {
      if (digits === 1 && part === 0) return undefined; // a leading zero
      part = part * 10 + (code - 0x30);
      if (++digits > 3) return undefined;
    } else return undefined;
  }
  return parts === 4 ? value : undefined;
}

function compileRule(rule: string): string | [Address, number] | undefined {
  const slash = rule.indexOf('/');
  if (slash < 0) {
    const address = parseIpAddress(rule);
    return address && canonicalIpAddress(address);
  }
  const address = parseIpAddress(rule.slice(0, slash));
  const bitsText = rule.slice(slash + 1);
  if (address === undefined || !/^\d{1,3}$/.test(bitsText)) return undefined;
  let bits = Number(bitsText);
  // A mapped v6 CIDR (::ffff:10.0.0.0/104) was folded to IPv4: fold its prefix too.
  const wasMapped = address.kind() === 'ipv4' && rule.slice(0, slash).includes(':');
  if (wasMapped) bits -= 96;
  const max = address.kind() === 'ipv4' ? 32 : 128;
  if (bits < 0 || bits > max) return undefined;
  return [address, bits];
}
