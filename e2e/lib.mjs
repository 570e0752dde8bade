// Shared by the CI proofs in e2e/: run commands loudly, count checks, and print
// one closing line `[e2e <name>] N passed, N failed` that scripts/test.mjs adds up.

import { spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

export const root = resolve(dirname(fileURLToPath(import.meta.url)), '..');
export const e2eDir = join(root, 'e2e');

/** The nine public packages, by folder name under packages/. */
export const publicPackages = [
  'core',
  'adapter-express',
  'adapter-fastify',
  'adapter-hono',
  'store-sqlite',
  'store-postgres',
  'store-redis',
  'testing',
  'api',
];

export function readJson(path) {
  return JSON.parse(readFileSync(path, 'utf8'));
}

export function tempDir(prefix) {
  return mkdtempSync(join(tmpdir(), `c2p-${prefix}-`));
}

/** Runs a command to completion; throws with its output when it fails. */
export function run(command, args, { cwd = root, env = process.env, input, quiet = true } = {}) {
  const result = spawnSync(command, args, {
    cwd,
    env,
    input,
    encoding: 'utf8',
    maxBuffer: 64 * 1024 * 1024,
    stdio: quiet ? 'pipe' : 'inherit',
  });
  if (result.error) throw new Error(`${command} ${args.join(' ')}: ${result.error.message}`);
  if (result.status !== 0) {
    throw new Error(
      `${command} ${args.join(' ')} (in ${cwd}) exited ${result.status ?? result.signal}\n` +
        `${result.stdout ?? ''}${result.stderr ?? ''}`.trim(),
    );
  }
  return result.stdout ?? '';
}

/** Runs a command in the background; resolves with its exit and output. */
export function runAsync(command, args, { cwd = root, env = process.env } = {}) {
  return new Promise((done) => {
    const child = spawn(command, args, { cwd, env, stdio: ['ignore', 'pipe', 'pipe'] });
    let output = '';
    child.stdout.on('data', (c) => {
      output += c;
    });
    child.stderr.on('data', (c) => {
      output += c;
    });
    child.on('error', (error) => done({ code: -1, output: `${output}${error.message}` }));
    child.on('close', (code, signal) => done({ code: code ?? signal, output }));
  });
}

/** A named series of checks: each failure is printed and counted, never skipped. */
export function createReport(name) {
  let passed = 0;
  let failed = 0;
  const started = Date.now();
  const tag = `[e2e ${name}]`;
  return {
    log(message) {
      console.log(`${tag} ${message}`);
    },
    async check(title, fn) {
      const began = Date.now();
      try {
        await fn();
        passed += 1;
        console.log(`${tag} ok   ${title} [${((Date.now() - began) / 1000).toFixed(1)} s]`);
      } catch (error) {
        failed += 1;
        console.log(
          `${tag} FAIL ${title}\n${indent(error instanceof Error ? error.message : String(error))}`,
        );
      }
    },
    get failed() {
      return failed;
    },
    finish() {
      const seconds = ((Date.now() - started) / 1000).toFixed(1);
      console.log(`${tag} ${passed} passed, ${failed} failed in ${seconds} s`);
      process.exitCode = failed > 0 || passed === 0 ? 1 : 0;
    },
  };
}

function indent(text) {
  return text
    .split('\n')
    .slice(0, 60)
    .map((line) => `       ${line}`)
    .join('\n');
}

export function assert(condition, message) {
  if (!condition) throw new Error(message);
}

export function assertEqual(actual, expected, what) {
  const a = JSON.stringify(actual);
  const e = JSON.stringify(expected);
  if (a !== e) throw new Error(`${what}: expected ${e}, got ${a}`);
}
