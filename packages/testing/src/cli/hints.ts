import type { DeliveryAttempt, DeliveryRunResult } from '../deliver.js';

/** The path the reference listener and the READMEs use. */
const webhookPath = '/webhooks/clik2pay';

/**
 * What a newcomer most likely got wrong, from the run's failed attempts: one
 * sentence per distinct cause, each ending in a question. Printed once on
 * stderr after the run, however many attempts failed the same way.
 */
export function hintsFor(
  run: DeliveryRunResult,
  sent: { url: URL; credentials: boolean },
): string[] {
  const hints = new Set<string>();
  for (const delivery of run.deliveries) {
    for (const attempt of delivery.attempts) {
      // Without credentials a 401 is what was asked for, and the warning said so.
      if (attempt.status === 401 && !sent.credentials) continue;
      const hint = hintFor(attempt, sent.url);
      if (hint !== undefined) hints.add(hint);
    }
  }
  return [...hints];
}

function hintFor(attempt: DeliveryAttempt, url: URL): string | undefined {
  const origin = `${url.hostname}:${url.port || (url.protocol === 'https:' ? 443 : 80)}`;
  switch (attempt.status) {
    case 404:
      return url.pathname === webhookPath
        ? `404 from ${url.pathname}: is ${origin} the webhook listener (the admin page has a port of its own)?`
        : `404 from ${url.pathname}: is the path ${webhookPath}?`;
    case 401:
      return "401: do --username/--password (C2P_WEBHOOK_USERNAME, C2P_WEBHOOK_PASSWORD) match the listener's?";
    case 403:
      return '403: the listener refused this address: does its allowlist (allowedIps, C2P_ALLOWED_IPS) include loopback?';
    case 405:
      return `405: does ${url.pathname} take POST?`;
  }
  const error = attempt.error ?? '';
  if (/ECONNREFUSED/.test(error))
    return `nothing listens on ${origin}: is the listener running on ${origin}?`;
  if (
    url.protocol === 'https:' &&
    /WRONG_VERSION_NUMBER|wrong version number|packet length too long/i.test(error)
  ) {
    const plain = new URL(url.href);
    plain.protocol = 'http:';
    return `this port speaks HTTP, not HTTPS: did you mean ${plain.href}?`;
  }
  if (/ENOTFOUND|EAI_AGAIN/.test(error))
    return `cannot resolve ${url.hostname}: is the host name right?`;
  return undefined;
}
