import { createIpAllowlist } from './ip-allowlist.js';

/** Options for {@link createClientIpResolver}. */
export interface ClientIpOptions {
  /**
   * Addresses and CIDRs of your own reverse proxies. `X-Forwarded-For` is read
   * only when the socket peer is one of them. Defaults to none: the peer is the client.
   */
  trustedProxies?: readonly string[];
  /** Names the option in error messages. Defaults to `options.trustedProxies`. */
  optionPath?: string;
}

/** Answers the client address for a socket peer and its `X-Forwarded-For` header. */
export type ClientIpResolver = (
  peerAddress: string | null | undefined,
  forwardedFor: string | null | undefined,
) => string | undefined;

/**
 * Compiles the client-IP rule every adapter shares: the socket peer, unless the
 * peer is a trusted proxy; then `X-Forwarded-For` is walked right to left,
 * skipping trusted hops, and the first untrusted hop is the client. There are no
 * hop counts: only addresses you trust can speak for others. If every hop is
 * trusted, the leftmost one is the client.
 */
export function createClientIpResolver(options: ClientIpOptions = {}): ClientIpResolver {
  const rules = options.trustedProxies ?? [];
  if (rules.length === 0) return (peer) => peer ?? undefined;
  const trusted = createIpAllowlist(rules, {
    optionPath: options.optionPath ?? 'options.trustedProxies',
  });
  return (peer, forwardedFor) => {
    if (!peer || !trusted.allows(peer) || !forwardedFor) return peer ?? undefined;
    const hops = forwardedFor.split(',');
    let client: string = peer;
    for (let i = hops.length - 1; i >= 0; i--) {
      const hop = (hops[i] as string).trim();
      if (hop === '') continue;
      client = hop;
      if (!trusted.allows(hop)) return hop;
    }
    return client;
  };
}
