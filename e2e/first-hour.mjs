#!/usr/bin/env node
// A stranger's first hour, from outside: every root npm script that needs pnpm or turbo
// runs with only Node and npm on PATH (no global pnpm), and `npm start`'s install shows
// a dependency's native build as one line, keeping its output in the log file it names.
//
//   node e2e/first-hour.mjs            (after the workspace is built)

import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { delimiter, join } from 'node:path';
import { pnpmSpec } from '../scripts/pnpm.mjs';
import { createInstallFilter, runInstall } from '../scripts/quiet-install.mjs';
import { assert, createReport, readJson, root, runAsync, tempDir } from './lib.mjs';

const report = createReport('first-hour');
const work = tempDir('first-hour');

/** PATH without any directory that holds a pnpm or turbo binary: only Node and npm. */
function pathWithoutPnpm() {
  return (process.env.PATH ?? '')
    .split(delimiter)
    .filter((dir) => dir !== '' && !['pnpm', 'turbo'].some((bin) => existsSync(join(dir, bin))))
    .join(delimiter);
}

const scripts = readJson(join(root, 'package.json')).scripts;
await report.check('root scripts run turbo and changeset publish through scripts/pnpm.mjs', () => {
  for (const [name, command] of Object.entries(scripts)) {
    for (const part of command.split('&&').map((p) => p.trim())) {
      const needsPnpm = /(^|\s)turbo\s/.test(part) || /changeset publish/.test(part);
      assert(
        !needsPnpm || part.startsWith('node scripts/pnpm.mjs exec '),
        `"${name}": "${part}" needs the pnpm binary: run it as node scripts/pnpm.mjs exec ...`,
      );
    }
  }
});

const env = { ...process.env, PATH: pathWithoutPnpm() };
for (const [name, args] of [
  ['build', ['--filter=@c2p/core', '--output-logs=errors-only']],
  ['typecheck', ['--filter=@c2p/core', '--output-logs=errors-only']],
]) {
  await report.check(`npm run ${name} with only Node and npm on PATH`, async () => {
    const { code, output } = await runAsync('npm', ['run', name, '--', ...args], { env });
    assert(code === 0, `npm run ${name} exited ${code}\n${output}`);
  });
}

// A workspace whose one dependency builds "natively": 330 lines of node-gyp-like output.
function nativeWorkspace(name, exitCode) {
  const dir = join(work, name);
  mkdirSync(join(dir, 'native'), { recursive: true });
  const script = `for (let i = 0; i < 330; i++) console.log('gyp info spawn args ' + i); console.error('gyp ERR! build error'); process.exit(${exitCode})`;
  writeFileSync(join(dir, 'native', 'build.js'), `${script}\n`);
  writeFileSync(
    join(dir, 'native', 'package.json'),
    JSON.stringify({
      name: 'native-thing',
      version: '1.0.0',
      scripts: { install: 'node build.js' },
    }),
  );
  writeFileSync(
    join(dir, 'package.json'),
    JSON.stringify({ name, private: true, dependencies: { 'native-thing': 'file:./native' } }),
  );
  writeFileSync(
    join(dir, 'pnpm-workspace.yaml'),
    'packages: []\nallowBuilds:\n  "native-thing@file:native": true\n',
  );
  return dir;
}

for (const [name, exitCode] of [
  ['builds', 0],
  ['fails', 1],
]) {
  await report.check(`npm start's install: a native build that ${name} is summed up`, async () => {
    const dir = nativeWorkspace(name, exitCode);
    const logFile = join(dir, '.c2p', 'install.log');
    const printed = [];
    const code = await runInstall({
      command: 'npx',
      args: ['--yes', pnpmSpec(), 'install', '--config.confirmModulesPurge=false'],
      cwd: dir,
      logFile,
      print: (line) => printed.push(line),
    });
    const shown = printed.join('\n');
    const logged = readFileSync(logFile, 'utf8');
    assert(
      (logged.match(/gyp info spawn args/g) ?? []).length === 330,
      `the log lacks the build's output:\n${logged.slice(0, 2000)}`,
    );
    // Outside a failed build's tail (indented), no line of the build's own output.
    const gyp = printed.filter((line) => /gyp info/.test(line) && !line.startsWith('    '));
    assert(gyp.length === 0, `${gyp.length} gyp lines printed:\n${shown}`);
    const notice = printed.filter((line) => line.startsWith('[start] compiling native-thing'));
    assert(
      notice.length === 1 &&
        /python3, make and a C\+\+ compiler/.test(notice[0]) &&
        notice[0].endsWith(`full log: ${logFile}`),
      `expected one line naming the build, its tools and the log:\n${shown}`,
    );
    if (exitCode === 0) {
      assert(code === 0, `install exited ${code}:\n${shown}`);
      assert(printed.length < 25, `${printed.length} lines printed:\n${shown}`);
    } else {
      assert(code !== 0, 'the failed install exited 0');
      assert(
        printed.some((line) => /native-thing's install script failed/.test(line)) &&
          printed.some((line) => /gyp ERR! build error/.test(line)) &&
          printed.some((line) => /^\[start\] (missing to build it|python3, make and)/.test(line)),
        `expected the failure, its last lines and the build tools:\n${shown}`,
      );
      assert(printed.length < 45, `${printed.length} lines printed:\n${shown}`);
    }
  });
}

// pnpm passes a script's stderr and stdout on in no fixed order: under load the error
// line came 15 lines above the end in CI, and a tail of the last lines alone lost it.
await report.check("a failed build's error line is shown wherever it falls among its lines", () => {
  const printed = [];
  const filter = createInstallFilter({
    print: (line) => printed.push(line),
    logFile: 'install.log',
    tools: () => [],
  });
  const say = (rest) => filter.take(`node_modules/native-thing install: ${rest}`);
  say('gyp info it worked if it ends with ok');
  say('gyp ERR! build error');
  for (let i = 0; i < 40; i++) say(`gyp info spawn args ${i}`);
  say('Failed');
  assert(
    printed.filter((line) => line === '    gyp ERR! build error').length === 1 &&
      printed.some((line) => line === '    gyp info spawn args 39'),
    `the error line or the tail is missing:\n${printed.join('\n')}`,
  );
});

report.finish();
if (!process.env.C2P_E2E_KEEP) rmSync(work, { recursive: true, force: true });
else console.log(`[e2e first-hour] kept ${work}`);
