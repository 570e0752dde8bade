import { readFile } from 'node:fs/promises';
import type { CliIo } from './cli-io.js';
import { UsageError } from './usage-error.js';

/** The bytes of `path`, or of stdin for `-`; an unreadable file is a {@link UsageError}. */
export async function readInput(path: string, what: string, io: CliIo): Promise<Uint8Array> {
  if (path === '-') {
    const chunks: Uint8Array[] = [];
    for await (const chunk of io.stdin) {
      chunks.push(typeof chunk === 'string' ? new TextEncoder().encode(chunk) : chunk);
    }
    return Buffer.concat(chunks);
  }
  try {
    return await readFile(path);
  } catch (error) {
    const code = (error as { code?: unknown }).code;
    throw new UsageError(
      `${what}: cannot read "${path}"${typeof code === 'string' ? ` (${code})` : ''}`,
    );
  }
}
