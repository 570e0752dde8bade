#!/usr/bin/env node
// `npm test`: the one command CI and a newcomer run. On a machine with only Node
// and npm it installs the workspace, brings up PostgreSQL, Redis and Chromium
// (scripts/services.mjs), builds, and runs every check: lint, typecheck, publint,
// the release checks, tests, then the packages as a stranger installs them and
// the runtime matrix (e2e/). Extra arguments go to vitest (e.g. `npm test --
// --project core`). The servers this run started are stopped when it ends,
// however it ends, so another checkout's `npm test` can follow.

import { spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { pnpmSpec } from './pnpm.mjs';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const PNPM = pnpmSpec();
const [major] = process.versions.node.split('.').map(Number);
if (major < 20) fail(`Node.js 20 or newer is required; this is ${process.version}.`);

const timings = [];
const counts = { passed: 0, failed: 0, skipped: 0 };
/** The tests that failed, named again at the end: a CI log is often read from its tail. */
const failures = [];

function fail(message) {
  console.error(`[test] ${message}`);
  process.exit(1);
}

function step(title, args, env = process.env) {
  console.log(`\n[test] ${title}`);
  const started = Date.now();
  const result = spawnSync('npx', ['--yes', PNPM, ...args], { cwd: root, stdio: 'inherit', env });
  if (result.status !== 0) fail(`${title} failed (exit ${result.status ?? result.signal}).`);
  done(title, started);
}

function done(title, started) {
  const seconds = ((Date.now() - started) / 1000).toFixed(1);
  timings.push(`${title} ${seconds} s`);
  console.log(`[test] ${title}: ok in ${seconds} s`);
}

/** Runs one e2e/ proof, streaming its output and adding up its `N passed, N failed` lines. */
function proof(title, script, args, env) {
  console.log(`\n[test] ${title}`);
  const started = Date.now();
  return new Promise((finish) => {
    const child = spawn(process.execPath, [join(root, script), ...args], {
      cwd: root,
      env,
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    let tail = '';
    child.stdout.on('data', (chunk) => {
      process.stdout.write(chunk);
      tail += chunk;
    });
    child.on('close', (code, signal) => {
      for (const [, passed, failed] of tail.matchAll(
        /^\[e2e [^\]]+\] (\d+) passed, (\d+) failed/gm,
      )) {
        counts.passed += Number(passed);
        counts.failed += Number(failed);
      }
      for (const [line] of tail.matchAll(/^\[e2e [^\]]+\] FAIL .*/gm)) failures.push(line);
      if (code === 0) done(title, started);
      else console.log(`[test] ${title}: FAILED (exit ${code ?? signal})`);
      finish(code === 0);
    });
  });
}

step('install', ['install', '--frozen-lockfile']);

const { ensureServices } = await import('./services.mjs');
const { env: urls, started } = await ensureServices({ chromium: true });
if (started.length > 0) {
  // Synchronous, so it also runs on process.exit() and after a signal.
  process.on('exit', () => {
    console.log(`[test] stopping what this run started: ${started.join(', ')}`);
    spawnSync(process.execPath, [join(root, 'scripts', 'services.mjs'), 'stop', ...started], {
      stdio: 'inherit',
    });
  });
  for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP']) {
    process.on(signal, () =>
      process.exit(128 + (signal === 'SIGINT' ? 2 : signal === 'SIGTERM' ? 15 : 1)),
    );
  }
}
const env = { ...process.env, ...urls };

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

// A few seconds of every benchmark, so none can rot (their figures are not checked):
// one command per script, each exiting non-zero when it cannot run.
const benchSmokes = [
  ['bench/core.bench.mjs', '--smoke'],
  ['bench/core-instructions.mjs', '--smoke'],
  ['bench/adapters.bench.mjs', '--smoke'],
  ['bench/adapters-instructions.mjs', '--smoke'],
  ['bench/stores.bench.mjs', '--smoke'],
  ['bench/memory.bench.mjs', '--smoke'],
  ['bench/inbox.bench.mjs', '--smoke'],
  ['bench/backlog.bench.mjs', '--smoke'],
  ['bench/workers.bench.mjs', '--smoke'],
];
console.log('\n[test] benchmark smoke');
const benchStarted = Date.now();
for (const [script, ...args] of benchSmokes) {
  const run = spawnSync(process.execPath, [join(root, script), ...args], {
    cwd: root,
    stdio: 'inherit',
    env,
  });
  if (run.status !== 0)
    fail(`${script} ${args.join(' ')} failed (exit ${run.status ?? run.signal}).`);
}
done('benchmark smoke', benchStarted);

const proofs = [];
proofs.push(await proof('changesets for changed packages', 'e2e/changesets.mjs', [], env));
proofs.push(
  await proof('release versions (changeset version in a copy)', 'e2e/release.mjs', [], env),
);
proofs.push(
  await proof("core's main entry imports no node: module", 'e2e/core-entry.mjs', [], env),
);
proofs.push(
  await proof('services: two checkouts one after the other', 'e2e/services.mjs', [], env),
);
proofs.push(
  await proof(
    "a stranger's first hour: root scripts without pnpm, npm start's install output",
    'e2e/first-hour.mjs',
    [],
    env,
  ),
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
const testsStarted = Date.now();
const outcome = spawnSync('npx', ['--yes', PNPM, ...tests], { cwd: root, stdio: 'inherit', env });
timings.push(`vitest ${((Date.now() - testsStarted) / 1000).toFixed(1)} s`);
try {
  const report = JSON.parse(readFileSync(results, 'utf8'));
  counts.passed += report.numPassedTests;
  counts.failed += report.numFailedTests;
  counts.skipped += report.numPendingTests + report.numTodoTests;
  for (const file of report.testResults ?? []) {
    const where = file.name.startsWith(root) ? file.name.slice(root.length + 1) : file.name;
    const failed = (file.assertionResults ?? []).filter((test) => test.status === 'failed');
    for (const test of failed) {
      const reason = String(test.failureMessages?.[0] ?? '')
        .split('\n')[0]
        .slice(0, 300);
      // vitest's JSON names a timeout only as STACK_TRACE_ERROR: the duration tells it.
      const after = `after ${Math.round(test.duration ?? 0)} ms`;
      failures.push(`${where} > ${test.fullName} (${after}): ${reason}`);
    }
    if (failed.length === 0 && file.status === 'failed') {
      failures.push(
        `${where}: ${String(file.message ?? '')
          .split('\n')[0]
          .slice(0, 300)}`,
      );
    }
  }
} catch {
  counts.failed += 1; // vitest wrote no results
}

proofs.push(
  await proof(
    'consumer test and runtime matrix (packed tarballs in fresh npm projects)',
    'e2e/consumer/run.mjs',
    ['--runtimes'],
    env,
  ),
);

console.log(`\n[test] timings: ${timings.join(', ')}`);
if (failures.length > 0) {
  console.log(`\n[test] failed tests (${failures.length}):`);
  for (const failure of failures) console.log(`[test]   ${failure}`);
}
// One plain closing line, whatever the runners printed above it.
console.log(`\n${counts.passed} passed, ${counts.failed} failed, ${counts.skipped} skipped`);
if (outcome.status !== 0) fail(`tests failed (exit ${outcome.status ?? outcome.signal}).`);
if (proofs.includes(false)) fail('an e2e proof failed (see above).');
