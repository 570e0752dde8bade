/**
 * Builds an HTTP Basic `Authorization` header value the way Clik2pay sends it:
 * `user-id ":" password`, encoded as UTF-8, then base64. The password may hold
 * colons (a receiver splits at the first one); the user-id may not.
 *
 * @example
 * ```ts
 * createBasicAuthorization('clik2pay', 'pa:ss') // 'Basic Y2xpazJwYXk6cGE6c3M='
 * ```
 * @see https://www.rfc-editor.org/rfc/rfc7617 (charset="UTF-8")
 */
export function createBasicAuthorization(username: string, password: string): string {
  if (username.includes(':')) {
    throw new TypeError(
      '[@c2p/testing] username: a Basic user-id cannot contain ":" (RFC 7617); put colons in the password',
    );
  }
  return `Basic ${Buffer.from(`${username}:${password}`, 'utf8').toString('base64')}`;
}
