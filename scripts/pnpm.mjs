#!/usr/bin/env node
// pnpm at exactly the version package.json's `packageManager` names, through npx:
// the one place that version is written. `npm run pnpm -- <args>` runs it;
// scripts import `pnpmSpec()` instead of repeating the version.

import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..');

/** `pnpm@x.y.z`, from the root package.json's `packageManager`. */
export function pnpmSpec() {
  const { packageManager } = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8'));
  if (!/^pnpm@\d+\.\d+\.\d+$/.test(packageManager ?? '')) {
    throw new Error(`package.json: packageManager must be pnpm@x.y.z, not ${packageManager}`);
  }
  return packageManager;
}

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const result = spawnSync('npx', ['--yes', pnpmSpec(), ...process.argv.slice(2)], {
    stdio: 'inherit',
  });
  process.exitCode = result.status ?? 1;
}
