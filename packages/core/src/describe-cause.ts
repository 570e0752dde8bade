/** The longest `lastError` an inbox keeps. */
const maxLength = 500;
/** How many causes deep a description goes. */
const maxDepth = 4;

/**
 * A failure as one line for an inbox's `lastError`: the error's name and
 * message, then each cause's message (and its `code`), so the reason survives
 * wrapping: `TypeError: fetch failed: connect ECONNREFUSED 127.0.0.1:5299`.
 * At most 500 characters. Handlers' errors are the host app's: they must not
 * put secrets in their messages.
 */
export function describeCause(cause: unknown): string {
  const parts: string[] = [];
  let current: unknown = cause;
  for (let depth = 0; depth < maxDepth && current !== undefined && current !== null; depth += 1) {
    const part = describeOne(current, depth === 0);
    if (part !== '' && !parts.some((seen) => seen.includes(part))) parts.push(part);
    current = current instanceof Error ? current.cause : undefined;
  }
  const text = parts.join(': ');
  return text.length > maxLength ? `${text.slice(0, maxLength - 3)}...` : text;
}

function describeOne(value: unknown, first: boolean): string {
  if (!(value instanceof Error)) return String(value);
  const code = (value as { code?: unknown }).code;
  const message =
    typeof code === 'string' && code !== '' && !value.message.includes(code)
      ? `${code} ${value.message}`.trim()
      : value.message;
  return first ? `${value.name}: ${message}` : message;
}
