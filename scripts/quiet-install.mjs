// `pnpm install` for `npm start`, with the output of dependencies' build scripts kept in
// a log file instead of the terminal. Where better-sqlite3's prebuilt binary cannot be
// downloaded it compiles SQLite from source: some 330 lines of `gyp info` and compiler
// output that used to bury the listener's banner. Each such build now prints one line
// saying what is compiled, what it needs and where the full log is; a failed one prints
// its last lines and which of the build tools are missing. Node built-ins only.

import { spawn, spawnSync } from 'node:child_process';
import { createWriteStream, mkdirSync } from 'node:fs';
import { dirname } from 'node:path';

// pnpm's lines for a dependency's script: `.../node_modules/<name> install$ <command>`,
// then `.../node_modules/<name> install: <output line>`, ending in `: Done` or `: Failed`.
const scriptLine =
  /^(?:\S*\/)?node_modules\/((?:@[^/\s]+\/)?[^/\s]+) (preinstall|install|postinstall)(\$|:) ?(.*)$/;
const nativeBuild = /\bgyp\b|prebuild-install|node-pre-gyp|cmake-js/;

/** The build tools node-gyp needs, and whether each is on PATH. */
export function buildTools() {
  const has = (command) => spawnSync(command, ['--version'], { stdio: 'ignore' }).status === 0;
  return [
    { name: 'python3', present: has('python3') },
    { name: 'make', present: has('make') },
    {
      name: 'a C++ compiler (g++ or clang++)',
      present: has('c++') || has('g++') || has('clang++'),
    },
  ];
}

/**
 * Filters an install's output lines: what pnpm says about the install itself is
 * printed; a dependency's script output is not (runInstall logs every line), except
 * one line when a native build starts and its last lines when it fails.
 */
export function createInstallFilter({ print, logFile, tools = buildTools }) {
  const scripts = new Map(); // name -> { lines, native, announced }
  const take = (line) => {
    const match = scriptLine.exec(line);
    if (match === null) return print(line);
    const [, name, , mark, rest] = match;
    const script = scripts.get(name) ?? { lines: [], native: false, announced: false };
    scripts.set(name, script);
    if (mark === '$') return;
    if (rest === 'Done') return;
    if (rest === 'Failed') return failed(name, script);
    script.lines.push(rest);
    if (!script.native && nativeBuild.test(rest)) script.native = true;
    if (script.native && !script.announced && /gyp info|node-gyp/.test(rest)) {
      script.announced = true;
      print(
        `[start] compiling ${name}'s native addon from source (no prebuilt binary could be downloaded for this platform): it needs python3, make and a C++ compiler, and takes a few minutes; full log: ${logFile}`,
      );
    }
  };
  const failed = (name, script) => {
    print(`[start] ${name}'s install script failed; its last lines (full log: ${logFile}):`);
    // A script's stderr and stdout reach us interleaved in no fixed order, so its
    // error lines may sit above the tail: they are shown first, then the tail.
    const tail = script.lines.slice(-15);
    const errors = script.lines
      .slice(0, -15)
      .filter((line) => /\bERR!|\berror\b/i.test(line))
      .slice(-10);
    for (const line of [...errors, ...tail]) print(`    ${line}`);
    if (script.native) {
      const missing = tools().filter((tool) => !tool.present);
      print(
        missing.length === 0
          ? '[start] python3, make and a C++ compiler are all on PATH: see the log for the cause'
          : `[start] missing to build it: ${missing.map((tool) => tool.name).join(', ')} (Debian/Ubuntu: apt-get install python3 make g++)`,
      );
    }
  };
  return { take };
}

/**
 * Runs `command args` in `cwd`, every line of its output into `logFile`, and the
 * lines the filter keeps through `print`. Resolves with the exit code.
 */
export function runInstall({ command, args, cwd, logFile, print = console.log, env }) {
  mkdirSync(dirname(logFile), { recursive: true });
  const log = createWriteStream(logFile);
  const filter = createInstallFilter({ print, logFile });
  return new Promise((resolve) => {
    const child = spawn(command, args, { cwd, env, stdio: ['inherit', 'pipe', 'pipe'] });
    const split = (stream) => {
      let rest = '';
      stream.setEncoding('utf8');
      stream.on('data', (chunk) => {
        log.write(chunk);
        const lines = (rest + chunk).split('\n');
        rest = lines.pop() ?? '';
        for (const line of lines) filter.take(line.replace(/\r$/, ''));
      });
      stream.on('end', () => {
        if (rest !== '') filter.take(rest);
      });
    };
    split(child.stdout);
    split(child.stderr);
    child.on('error', (error) => {
      log.end();
      print(`[start] could not run ${command}: ${error.message}`);
      resolve(1);
    });
    child.on('close', (code, signal) => {
      log.end(() => resolve(code ?? (signal ? 1 : 0)));
    });
  });
}
