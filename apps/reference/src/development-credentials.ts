import { randomBytes } from 'node:crypto';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { z } from 'zod';
import { ConfigError } from './config.js';

/** Where the generated development credentials are kept, in the data folder. */
export const credentialsFileName = 'development-credentials.json';

const saved = z.object({ username: z.string().min(1), password: z.string().min(16) });

/**
 * The development credentials kept in `folder`: read when the file exists,
 * otherwise generated and written there (mode 0600), so a command copied from
 * an earlier banner keeps working after a restart.
 */
export function loadDevelopmentCredentials(folder: string): {
  username: string;
  password: string;
  file: string;
} {
  const file = join(folder, credentialsFileName);
  let text: string | undefined;
  try {
    text = readFileSync(file, 'utf8');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw unusable(file, error);
  }
  if (text !== undefined) {
    try {
      return { ...saved.parse(JSON.parse(text)), file };
    } catch (error) {
      throw unusable(file, error);
    }
  }
  const created = { username: 'clik2pay', password: randomBytes(18).toString('base64url') };
  try {
    mkdirSync(folder, { recursive: true });
    writeFileSync(file, `${JSON.stringify(created)}\n`, { mode: 0o600, flag: 'wx' });
  } catch (error) {
    throw unusable(file, error);
  }
  return { ...created, file };
}

function unusable(file: string, error: unknown): ConfigError {
  const code = (error as NodeJS.ErrnoException).code ?? 'not {"username","password"}';
  return new ConfigError(
    `C2P_WEBHOOK_PASSWORD: unset, and the development credentials in "${file}" cannot be used (${code}); delete the file, or set C2P_WEBHOOK_USERNAME and C2P_WEBHOOK_PASSWORD`,
  );
}
