#!/usr/bin/env node
// Mutation testing with StrykerJS (`npm run mutation [-- core store-sqlite store-postgres reference]`):
// starts the PostgreSQL test server when a target needs it, builds what the
// targets' tests import, runs Stryker in each target's folder one after the other
// (each target's stryker.config.mjs, shared options in stryker.shared.mjs), and
// prints every target's counts and score with the machine and the date.
// Not part of `npm test`: it takes far longer than that run's 30 minutes.

import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { cpus, totalmem } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { pnpmSpec } from './pnpm.mjs';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..');

const targets = {
  core: { dir: 'packages/core', pkg: '@c2p/core', services: [] },
  'store-sqlite': { dir: 'packages/store-sqlite', pkg: '@c2p/store-sqlite', services: [] },
  'store-postgres': {
    dir: 'packages/store-postgres',
    pkg: '@c2p/store-postgres',
    services: ['postgres'],
  },
  reference: { dir: 'apps/reference', pkg: '@c2p/reference', services: [] },
};

const asked = process.argv.slice(2);
for (const name of asked) {
  if (!(name in targets)) {
    console.error(`[mutation] unknown target "${name}": use ${Object.keys(targets).join(', ')}`);
    process.exit(2);
  }
}
const chosen = asked.length > 0 ? asked : Object.keys(targets);

const needed = [...new Set(chosen.flatMap((name) => targets[name].services))];
let env = process.env;
if (needed.length > 0) {
  const { ensureServices } = await import('./services.mjs');
  const { env: urls, started } = await ensureServices({ only: needed });
  env = { ...process.env, ...urls };
  if (started.length > 0) {
    process.on('exit', () => {
      spawnSync(process.execPath, [join(root, 'scripts', 'services.mjs'), 'stop', ...started], {
        stdio: 'inherit',
      });
    });
  }
}

// The targets' tests import their dependencies' builds (and the stores' child
// processes their own build).
const filters = chosen.flatMap((name) => ['--filter', `${targets[name].pkg}...`]);
const build = spawnSync(
  'npx',
  ['--yes', pnpmSpec(), 'exec', 'turbo', 'run', 'build', '--output-logs=errors-only', ...filters],
  { cwd: root, stdio: 'inherit', env },
);
if (build.status !== 0) process.exit(build.status ?? 1);

const stryker = join(root, 'node_modules', '.bin', 'stryker');
const results = [];
let failed = false;
for (const name of chosen) {
  const cwd = join(root, targets[name].dir);
  console.log(`[mutation] ${name}: stryker run in ${targets[name].dir}`);
  const started = Date.now();
  const run = spawnSync(stryker, ['run'], { cwd, stdio: 'inherit', env });
  const seconds = Math.round((Date.now() - started) / 1000);
  const report = join(cwd, 'reports', 'mutation', 'mutation.json');
  if (run.status !== 0 || !existsSync(report)) {
    console.log(`[mutation] ${name}: FAILED (exit ${run.status ?? run.signal})`);
    failed = true;
    continue;
  }
  results.push({ name, seconds, ...count(JSON.parse(readFileSync(report, 'utf8'))) });
}

/** Mutant counts by status, and the score: detected over detected plus undetected. */
function count(report) {
  const counts = {};
  for (const file of Object.values(report.files)) {
    for (const mutant of file.mutants) counts[mutant.status] = (counts[mutant.status] ?? 0) + 1;
  }
  const killed = counts.Killed ?? 0;
  const timeout = counts.Timeout ?? 0;
  const survived = counts.Survived ?? 0;
  const noCoverage = counts.NoCoverage ?? 0;
  const valid = killed + timeout + survived + noCoverage;
  return {
    killed,
    timeout,
    survived,
    noCoverage,
    ignored: counts.Ignored ?? 0,
    errors: (counts.CompileError ?? 0) + (counts.RuntimeError ?? 0),
    score: valid === 0 ? 100 : (100 * (killed + timeout)) / valid,
  };
}

const cpu = cpus();
console.log(
  `\n[mutation] ${new Date().toISOString()}, ${cpu.length} × ${cpu[0]?.model ?? 'unknown CPU'}, ${Math.round(totalmem() / 2 ** 30)} GiB, Node ${process.version}`,
);
console.log(
  '| target | score | killed | timeout | survived | no coverage | ignored | errors | time |',
);
console.log('| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |');
for (const r of results) {
  console.log(
    `| ${r.name} | ${r.score.toFixed(1)}% | ${r.killed} | ${r.timeout} | ${r.survived} | ${r.noCoverage} | ${r.ignored} | ${r.errors} | ${Math.floor(r.seconds / 60)} min ${r.seconds % 60} s |`,
  );
}
process.exitCode = failed ? 1 : 0;
