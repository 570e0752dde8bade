#!/usr/bin/env node
// The packages as a stranger gets them. Packs every public package, installs the
// tarballs with npm into fresh projects outside the workspace (each following its
// README's install line), and in each: imports every entry from ESM and requires
// it from CommonJS, typechecks a usage file and every TypeScript snippet of the
// README under NodeNext and Bundler with `strict`, and delivers end to end. Then
// arethetypeswrong on every tarball, then the runtime matrix (./runtimes.mjs)
// on the same projects. Nothing is skipped: a missing runtime or server fails.
//
//   node e2e/consumer/run.mjs            (after the workspace is built)
//   node e2e/consumer/run.mjs --only store-sqlite   (one project; no runtime matrix)

import {
  cpSync,
  existsSync,
  mkdirSync,
  readFileSync,
  rmSync,
  statSync,
  writeFileSync,
} from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join, relative } from 'node:path';
import { pnpmSpec } from '../../scripts/pnpm.mjs';
import {
  assert,
  createReport,
  publicPackages,
  readJson,
  root,
  run,
  runAsync,
  tempDir,
} from '../lib.mjs';
import { runExample } from './example.mjs';
import { projects, toolPackages } from './projects.mjs';
import { installRuntimes, runMatrix, runServer } from './runtimes.mjs';
import { extractRunnable, extractSnippets } from './snippets.mjs';

const withRuntimes = process.argv.includes('--runtimes');
// `--only store-sqlite,testing`: just those projects (every package is still packed).
const onlyArg = process.argv.indexOf('--only');
const only = onlyArg === -1 ? undefined : (process.argv[onlyArg + 1] ?? '').split(',');
if (only !== undefined && withRuntimes) throw new Error('--only and --runtimes do not go together');
// The runtimes download while the consumer projects install and run.
const runtimeInstall = withRuntimes
  ? installRuntimes().catch((error) => Promise.reject(error))
  : undefined;
runtimeInstall?.catch(() => undefined);
const report = createReport('consumer');
const work = tempDir('consumer');
const packDir = join(work, 'tarballs');
mkdirSync(packDir);
const rootManifest = readJson(join(root, 'package.json'));
const toolVersions = toolPackages.map((name) => `${name}@${rootManifest.devDependencies[name]}`);
const names = Object.fromEntries(
  publicPackages.map((dir) => [dir, readJson(join(root, 'packages', dir, 'package.json')).name]),
);
const tarballs = {};

await report.check('pnpm pack every public package', async () => {
  await Promise.all(
    publicPackages.map(async (dir) => {
      const out = await exec('npx', ['--yes', pnpmSpec(), 'pack', '--pack-destination', packDir], {
        cwd: join(root, 'packages', dir),
      });
      const file = out.trim().split('\n').at(-1).trim();
      assert(
        file.endsWith('.tgz') && existsSync(file),
        `pnpm pack printed no tarball for ${dir}: ${out}`,
      );
      tarballs[dir] = file;
    }),
  );
});

const license = readFileSync(join(root, 'LICENSE'), 'utf8');
for (const dir of publicPackages) {
  await report.check(
    `${names[dir]}: tarball has the LICENSE, README and no workspace: ranges`,
    () => {
      const entries = run('tar', ['-tzf', tarballs[dir]]).split('\n');
      for (const needed of ['package/LICENSE', 'package/README.md', 'package/package.json']) {
        assert(entries.includes(needed), `${needed} missing from the tarball`);
      }
      assert(
        run('tar', ['-xOzf', tarballs[dir], 'package/LICENSE']) === license,
        'LICENSE differs from the root LICENSE',
      );
      const manifest = run('tar', ['-xOzf', tarballs[dir], 'package/package.json']);
      assert(!manifest.includes('workspace:'), 'package.json still has workspace: ranges');
      const parsed = JSON.parse(manifest);
      assert(parsed.license === 'MIT', 'license field is not MIT');
      // Every file an entry point, a types condition or a bin names is in the tarball.
      const named = new Set();
      const collect = (value) => {
        if (typeof value === 'string') named.add(value.replace(/^\.\//, 'package/'));
        else if (value && typeof value === 'object') Object.values(value).forEach(collect);
      };
      collect([parsed.exports, parsed.main, parsed.module, parsed.types, parsed.bin]);
      const missing = [...named].filter((file) => !file.endsWith('/') && !entries.includes(file));
      assert(missing.length === 0, `named by package.json but not packed: ${missing.join(', ')}`);
      const kb = (statSync(tarballs[dir]).size / 1024).toFixed(1);
      report.log(`${names[dir]}: ${entries.filter(Boolean).length} files, ${kb} KiB packed`);
    },
  );
}

// arethetypeswrong runs while the projects install.
const attw = (async () => {
  for (const dir of publicPackages.filter((d) => only === undefined || only.includes(d))) {
    // Entries published ESM-only (no `require` condition) are checked under the
    // esm-only profile; everything else under every resolution, node10 included.
    const manifest = JSON.parse(run('tar', ['-xOzf', tarballs[dir], 'package/package.json']));
    const esmOnly = Object.entries(manifest.exports)
      .filter(([, target]) => typeof target === 'object' && !('require' in target))
      .map(([subpath]) => subpath);
    const label = esmOnly.length ? ` (ESM-only: ${esmOnly.join(', ')})` : '';
    await report.check(`${names[dir]}: arethetypeswrong${label}`, async () => {
      const attwBin = join(root, 'node_modules', '.bin', 'attw');
      const base = [tarballs[dir], '--format', 'ascii'];
      if (esmOnly.length === 0) return void (await exec(attwBin, base));
      await exec(attwBin, [...base, '--exclude-entrypoints', ...esmOnly]);
      await exec(attwBin, [...base, '--profile', 'esm-only']);
    });
  }
})();

/**
 * The README's install commands (every `npm install` line of its first sh block),
 * as one argument list: flags such as -D dropped, @c2p names as tarball paths.
 */
function installLine(readme) {
  const text = readFileSync(join(root, readme), 'utf8');
  const block = /```sh\n([\s\S]*?)```/.exec(text)?.[1] ?? '';
  const lines = [...block.matchAll(/^npm install (.+)$/gm)].map((m) => m[1]);
  if (lines.length === 0)
    throw new Error(`${readme} has no "npm install" line in its first sh block`);
  return lines
    .flatMap((line) => line.replace(/#.*$/, '').trim().split(/\s+/))
    .filter((token) => !token.startsWith('-'))
    .map((token) => {
      const dir = Object.keys(names).find((d) => names[d] === token);
      return dir ? tarballs[dir] : token;
    });
}

function tsconfig(options, include) {
  return `${JSON.stringify(
    {
      compilerOptions: {
        strict: true,
        noEmit: true,
        target: 'es2022',
        lib: ['es2023'],
        types: ['node'],
        skipLibCheck: true,
        noUncheckedIndexedAccess: true,
        ...options,
      },
      include,
    },
    null,
    2,
  )}\n`;
}

function copyBetterSqlite(dir) {
  const require = createRequire(join(root, 'packages', 'store-sqlite', 'package.json'));
  const workspace = dirname(require.resolve('better-sqlite3/package.json'));
  const target = join(dir, 'node_modules', 'better-sqlite3');
  const have = readJson(join(workspace, 'package.json')).version;
  const want = readJson(join(target, 'package.json')).version;
  const addon = join(workspace, 'build', 'Release', 'better_sqlite3.node');
  if (have !== want || !existsSync(addon))
    return `no addon to copy (workspace ${have}, project ${want}): rebuilding`;
  mkdirSync(join(target, 'build', 'Release'), { recursive: true });
  cpSync(addon, join(target, 'build', 'Release', 'better_sqlite3.node'));
  return `copied the workspace's better-sqlite3 ${have} addon`;
}

// ---- set up every project at once (npm installs are mostly waiting) ----------
const dirs = {};
const chosen = Object.entries(projects).filter(
  ([name]) => only === undefined || only.includes(name),
);
if (chosen.length === 0) throw new Error(`--only: no project named ${only}`);
const installs = chosen.map(async ([name, spec]) => {
  const dir = join(work, name);
  dirs[name] = dir;
  mkdirSync(dir);
  writeFileSync(
    join(dir, 'package.json'),
    `${JSON.stringify({ name: `c2p-consumer-${name}`, private: true }, null, 2)}\n`,
  );
  const args = [
    ...(spec.packages ? spec.packages.map((p) => tarballs[p]) : installLine(spec.readme)),
    ...(spec.packed ?? []).map((p) => tarballs[p]),
    ...(spec.extra ?? []),
  ];
  // @c2p/core is everyone's dependency and is not on the registry yet: always the tarball.
  if (!args.includes(tarballs.core)) args.push(tarballs.core);
  const started = Date.now();
  // better-sqlite3 compiles SQLite from source here (its prebuilt download is
  // unreachable), two minutes of CPU: its install script is skipped and the addon
  // the workspace's install just compiled, same version and Node, is copied in.
  // That proves nothing less about our package; a version mismatch rebuilds.
  const native = args.includes('better-sqlite3');
  const result = await runAsync(
    'npm',
    [
      'install',
      '--no-audit',
      '--no-fund',
      ...(native ? ['--ignore-scripts'] : []),
      ...args,
      ...toolVersions,
    ],
    { cwd: dir },
  );
  if (native && result.code === 0) {
    const copied = copyBetterSqlite(dir);
    result.output += copied;
    if (!copied.startsWith('copied')) {
      const rebuild = await runAsync('npm', ['rebuild', 'better-sqlite3'], {
        cwd: dir,
        env: { ...process.env, JOBS: 'max' },
      });
      if (rebuild.code !== 0) Object.assign(result, rebuild);
    }
  }
  return { name, dir, spec, args, result, seconds: (Date.now() - started) / 1000 };
});
const installed = await Promise.all(installs);
await attw;

async function checkProject({ name, dir, spec, args, result, seconds }) {
  const shown = args.map((a) => (a.endsWith('.tgz') ? relative(packDir, a) : a)).join(' ');
  await report.check(`${name}: npm install ${shown} (${seconds.toFixed(0)} s)`, () => {
    if (result.code !== 0) throw new Error(result.output);
  });
  if (result.code !== 0) return;

  const packageDirs = (spec.packages ?? [name]).filter((p) => names[p]);
  await report.check(
    `${name}: every entry imports from ESM and requires from CJS with the same exports`,
    async () => {
      const script = [];
      for (const pkg of packageDirs) {
        const manifest = readJson(join(dir, 'node_modules', names[pkg], 'package.json'));
        for (const [subpath, target] of Object.entries(manifest.exports)) {
          if (subpath === './package.json') continue;
          const specifier = subpath === '.' ? names[pkg] : `${names[pkg]}${subpath.slice(1)}`;
          const cjs = typeof target === 'object' && 'require' in target;
          script.push([specifier, cjs]);
        }
      }
      writeFileSync(
        join(dir, 'entries.mjs'),
        `import { createRequire } from 'node:module';
const require = createRequire(import.meta.url);
const problems = [];
for (const [specifier, cjs] of ${JSON.stringify(script)}) {
  const esm = Object.keys(await import(specifier)).filter((k) => k !== 'default' && k !== 'module.exports').sort();
  if (esm.length === 0) problems.push(specifier + ': ESM entry exports nothing');
  if (!cjs) continue;
  const required = Object.keys(require(specifier)).sort();
  if (JSON.stringify(required) !== JSON.stringify(esm)) problems.push(specifier + ': ESM ' + esm + ' vs CJS ' + required);
}
if (problems.length) { console.error(problems.join('\\n')); process.exit(1); }
`,
      );
      await exec(process.execPath, ['entries.mjs'], { cwd: dir });
    },
  );

  await report.check(
    `${name}: ${spec.readme} says its examples are ES modules, before the first`,
    () => {
      // npm init -y writes "type": "commonjs": a snippet with `import` pasted into index.js fails.
      const text = readFileSync(join(root, spec.readme), 'utf8');
      const note = text.search(/examples[^.]*are ES modules[\s\S]*?"type": "module"[\s\S]*?tsx/);
      const first = text.search(/^```(ts|js)$/m);
      assert(
        note !== -1 && note < first,
        'no ES-module note (.mjs/.mts, "type": "module", tsx) before the first example',
      );
    },
  );

  const snippets = extractSnippets(join(root, spec.readme));
  mkdirSync(join(dir, 'snippets'));
  for (const snippet of snippets)
    writeFileSync(join(dir, 'snippets', snippet.file), snippet.source);
  // Workers' built-in module, typed as `wrangler types` types a declared secret.
  writeFileSync(
    join(dir, 'snippets', 'cloudflare-workers.d.ts'),
    "declare module 'cloudflare:workers' {\n  export const env: { C2P_WEBHOOK_PASSWORD: string };\n}\n",
  );
  writeFileSync(join(dir, 'usage.mts'), spec.usage);
  writeFileSync(join(dir, 'usage.cts'), spec.usageCjs ?? spec.usage);
  writeFileSync(
    join(dir, 'tsconfig.nodenext.json'),
    tsconfig({ module: 'nodenext', moduleResolution: 'nodenext' }, [
      'usage.mts',
      'usage.cts',
      'snippets',
    ]),
  );
  writeFileSync(
    join(dir, 'tsconfig.bundler.json'),
    tsconfig({ module: 'preserve', moduleResolution: 'bundler' }, ['usage.mts', 'snippets']),
  );
  const tsc = join(dir, 'node_modules', '.bin', 'tsc');
  const where = `${spec.readme} (${snippets.length} TypeScript snippets) and a usage file`;
  await report.check(
    `${name}: ${where} typecheck under NodeNext (ESM and CJS), strict`,
    async () => {
      await exec(tsc, ['-p', 'tsconfig.nodenext.json'], { cwd: dir });
    },
  );
  await report.check(`${name}: ${where} typecheck under Bundler, strict`, async () => {
    await exec(tsc, ['-p', 'tsconfig.bundler.json'], { cwd: dir });
  });

  for (const [file, content] of Object.entries(spec.files ?? {}))
    writeFileSync(join(dir, file), content);
  for (const [file] of spec.run ?? []) {
    await report.check(`${name}: node ${file}`, async () => {
      for (const variable of spec.needs ?? []) {
        assert(
          process.env[variable],
          `${variable} is not set: run through npm test, which starts the servers`,
        );
      }
      report.log((await exec(process.execPath, [file], { cwd: dir })).trim());
    });
  }
  for (const example of extractRunnable(join(root, spec.readme))) {
    writeFileSync(join(dir, example.file), example.source);
    await report.check(
      `${name}: ${spec.readme}'s ${example.file} as written: starts, takes a payment and its duplicate from c2p send, stops on SIGTERM`,
      async () => {
        report.log(await runExample({ dir, file: example.file }));
      },
    );
  }
  if (spec.server) {
    cpSync(join(import.meta.dirname, 'servers'), dir, { recursive: true });
    await report.check(
      `${name}: a delivery end to end through the adapter on this Node`,
      async () => {
        await runServer({ command: process.execPath, args: [spec.server], cwd: dir });
      },
    );
  }
}

/** Like run(), without blocking: two projects are checked at a time. */
async function exec(command, args, options) {
  const { code, output } = await runAsync(command, args, options);
  if (code !== 0) throw new Error(`${command} ${args.join(' ')} exited ${code}\n${output}`.trim());
  return output;
}

const queue = [...installed];
await Promise.all(
  [1, 2].map(async () => {
    while (queue.length > 0) await checkProject(queue.shift());
  }),
);

export const consumerProjects = dirs;
const failed = report.failed;
report.finish();

if (withRuntimes) {
  const matrixFailed = await runMatrix(dirs, { install: runtimeInstall });
  process.exitCode = failed > 0 || matrixFailed > 0 ? 1 : 0;
}
if (!process.env.C2P_E2E_KEEP) rmSync(work, { recursive: true, force: true });
else console.log(`[e2e consumer] kept ${work}`);
