#!/usr/bin/env node
// `npm start`: from a fresh clone with only Node and npm, install, build and run
// the reference listener (apps/reference). Node built-ins only: nothing is installed yet.
//
// Settings come from the environment; see apps/reference/README.md.
// `npm start -- --no-build` runs what is already built (no install, no build).

import { spawn, spawnSync } from 'node:child_process';
import { constants } from 'node:os';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { pnpmSpec } from './pnpm.mjs';
import { runInstall } from './quiet-install.mjs';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const npx = process.platform === 'win32' ? 'npx.cmd' : 'npx';
const pnpm = ['--yes', pnpmSpec()];

function step(title, args) {
  console.log(`[start] ${title}: npx ${args.join(' ')}`);
  const result = spawnSync(npx, args, { cwd: root, stdio: 'inherit' });
  if (result.error) {
    console.error(`[start] ${title} could not run: ${result.error.message}`);
    process.exit(1);
  }
  if (result.status !== 0) {
    console.error(`[start] ${title} failed (exit ${result.status ?? result.signal})`);
    process.exit(result.status ?? 1);
  }
}

const args = process.argv.slice(2);
const unknown = args.filter((arg) => arg !== '--no-build');
if (unknown.length > 0) {
  console.error(`[start] unknown argument ${unknown[0]}; the only one is --no-build`);
  process.exit(1);
}
if (!args.includes('--no-build')) {
  // Dependencies' build scripts (a native compile: hundreds of lines) go to a log file.
  const installArgs = [...pnpm, 'install', '--frozen-lockfile'];
  const logFile = join(root, '.c2p', 'install.log');
  console.log(`[start] install: npx ${installArgs.join(' ')}`);
  const code = await runInstall({
    command: npx,
    args: installArgs,
    cwd: root,
    logFile: relative(process.cwd(), logFile) || logFile,
  });
  if (code !== 0) {
    console.error(`[start] install failed (exit ${code}); full log: ${logFile}`);
    process.exit(code);
  }
  step('build', [
    ...pnpm,
    'exec',
    'turbo',
    'run',
    'build',
    '--filter=@c2p/reference...',
    // tsup's per-file lines would bury the banner: a failed build still prints its log.
    '--output-logs=errors-only',
  ]);
}

console.log('[start] starting apps/reference');
// In a process group of its own, so a terminal's Ctrl-C reaches it once, through us:
// the listener takes a second signal as "stop now, without waiting". The IPC channel
// is its lifeline: if this process dies, even by SIGKILL, the listener sees the channel
// close and shuts down gracefully instead of living on, orphaned, holding the ports.
const child = spawn(process.execPath, [join(root, 'apps/reference/dist/main.js')], {
  cwd: root,
  stdio: ['inherit', 'inherit', 'inherit', 'ipc'],
  detached: true,
});

const stopChild = (signal) => {
  if (child.exitCode === null && child.signalCode === null) child.kill(signal);
};

// The listener shuts down gracefully on SIGTERM and SIGINT: pass them on and wait for it.
for (const signal of ['SIGTERM', 'SIGINT', 'SIGHUP']) process.on(signal, () => stopChild(signal));

// A container runtime or supervisor sends SIGTERM to its main process only. Under
// `npm start` that is npm, which exits at once without passing it on: we notice our
// parent going (we are re-parented) and stop the listener as if we had been sent SIGTERM.
const parent = process.ppid;
const watch = setInterval(() => {
  if (process.ppid !== parent) {
    clearInterval(watch);
    stopChild('SIGTERM');
  }
}, 200);
watch.unref();

child.on('error', (error) => {
  console.error(`[start] could not start the listener: ${error.message}`);
  process.exit(1);
});
child.on('exit', (code, signal) => {
  process.exit(signal ? 128 + (constants.signals[signal] ?? 0) : (code ?? 1));
});
