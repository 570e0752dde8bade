/**
 * What must not reach the page raw, though it is no markup: controls (NUL, C0,
 * C1), bidi overrides and isolates (U+202E turns text around), line and
 * paragraph separators, zero-width and invisible formatting characters, lone
 * surrogates, and the backslash itself (so an escape shown is never ambiguous).
 * One definition for the server's rendering and the page's refresh (bundled into it).
 */
const invisible =
  // biome-ignore lint/suspicious/noControlCharactersInRegex: matching control characters is this pattern's job.
  /[\\\u0000-\u001f\u007f-\u009f\u00ad\u061c\u180e\u200b-\u200f\u2028-\u202e\u2060-\u206f\ufeff\ufff9-\ufffb]|[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/g;

/** Shows each such character as its escape: `\u202E`, `\u0000`, `\\`. */
export function visible(text: string): string {
  return text.replace(invisible, (c) =>
    c === '\\' ? '\\\\' : `\\u${c.charCodeAt(0).toString(16).toUpperCase().padStart(4, '0')}`,
  );
}
