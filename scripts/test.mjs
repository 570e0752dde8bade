#!/usr/bin/env node
// `npm test`: the one command CI and a newcomer run. On a machine with only Node
// and npm it installs the workspace, brings up PostgreSQL, Redis and Chromium
// (scripts/services.mjs), builds, and runs every check: lint, typecheck, publint,
// tests. Extra arguments go to vitest (e.g. `npm test -- --project core`).

import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const PNPM = 'pnpm@12.4.2';
const [major] = process.versions.node.split('.').map(Number);
if (major < 20) fail(`Node.js 20 or newer is required; this is ${process.version}.`);

function fail(message) {
  console.error(`[test] ${message}`);
  process.exit(1);
}

function step(title, args, env = process.env) {
  console.log(`\n[test] ${title}`);
  const started = Date.now();
  const result = spawnSync('npx', ['--yes', PNPM, ...args], { cwd: root, stdio: 'inherit', env });
  if (result.status !== 0) fail(`${title} failed (exit ${result.status ?? result.signal}).`);
  console.log(`[test] ${title}: ok in ${((Date.now() - started) / 1000).toFixed(1)} s`);
}

step('install', ['install', '--frozen-lockfile']);

const { startServices } = await import('./services.mjs');
const services = await startServices({ chromium: true });
const env = { ...process.env, ...services };

step('lint', ['exec', 'biome', 'check', '.']);
step(
  'build and typecheck',
  ['exec', 'turbo', 'run', 'build', 'typecheck', '--output-logs=errors-only'],
  env,
);
step(
  'publint',
  ['-r', '--filter', './packages/*', 'exec', 'publint', '--strict', '--pack', 'npm'],
  env,
);
const results = join(mkdtempSync(join(tmpdir(), 'c2p-test-')), 'vitest.json');
const tests = [
  'exec',
  'vitest',
  'run',
  '--reporter=default',
  '--reporter=json',
  `--outputFile.json=${results}`,
  ...process.argv.slice(2),
];
const outcome = spawnSync('npx', ['--yes', PNPM, ...tests], { cwd: root, stdio: 'inherit', env });
// One plain closing line, whatever the runner printed above it.
try {
  const report = JSON.parse(readFileSync(results, 'utf8'));
  const skipped = report.numPendingTests + report.numTodoTests;
  console.log(
    `\n${report.numPassedTests} passed, ${report.numFailedTests} failed, ${skipped} skipped`,
  );
} catch {
  console.log('\n0 passed, 1 failed (vitest wrote no results)');
}
if (outcome.status !== 0) fail(`tests failed (exit ${outcome.status ?? outcome.signal}).`);
