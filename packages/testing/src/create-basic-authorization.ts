import { encodeBasicAuth } from '@c2p/core';
import { OptionError } from './option-error.js';

/**
 * Builds an HTTP Basic `Authorization` header value the way Clik2pay sends it:
 * `user-id ":" password`, normalised to NFC, encoded as UTF-8, then base64 (core's
 * `encodeBasicAuth`, so sender and receiver agree byte for byte). The password
 * may hold colons (a receiver splits at the first one); the user-id may not.
 *
 * @example
 * ```ts
 * createBasicAuthorization('clik2pay', 'pa:ss') // 'Basic Y2xpazJwYXk6cGE6c3M='
 * ```
 * @see https://www.rfc-editor.org/rfc/rfc7617 (charset="UTF-8")
 */
export function createBasicAuthorization(username: string, password: string): string {
  return basicAuthorization(username, password, 'username');
}

/** {@link createBasicAuthorization}, naming the caller's option path in its error. */
export function basicAuthorization(username: string, password: string, path: string): string {
  if (username.includes(':')) {
    throw new OptionError(
      path,
      'a Basic user-id cannot contain ":" (RFC 7617); put colons in the password',
    );
  }
  return encodeBasicAuth(username, password);
}
