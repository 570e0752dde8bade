#!/usr/bin/env node
// Fails when a public package's shipped source changed without a changeset that
// names it. The rule (also in CONTRIBUTING.md):
//
// - The base is, in order: $C2P_CHANGESET_BASE; the newest release tag reachable
//   from HEAD (`@c2p/<name>@<version>`, as `changeset publish` tags); the merge
//   base with origin/main (or main) when HEAD is not on it.
// - With a base: every public package with a change under src/, package.json
//   (other than its version), tsup.config.ts or tsconfig.json since the base
//   must be named by a changeset added since the base.
// - Without one (a fresh clone of an unreleased main: no tag, HEAD is main), there
//   is nothing to compare: every package still at 0.0.0 must be named by a pending
//   changeset, since its first release will publish it. Nothing else is required.
// Private packages (apps/, bench) are never checked.

import { execFileSync } from 'node:child_process';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { assert, createReport, publicPackages, readJson, root } from './lib.mjs';

const report = createReport('changesets');
const git = (...args) =>
  execFileSync('git', args, {
    cwd: root,
    encoding: 'utf8',
    stdio: ['ignore', 'pipe', 'pipe'],
  }).trim();
const tryGit = (...args) => {
  try {
    return git(...args);
  } catch {
    return undefined;
  }
};

function findBase() {
  if (process.env.C2P_CHANGESET_BASE)
    return { base: process.env.C2P_CHANGESET_BASE, why: '$C2P_CHANGESET_BASE' };
  const tag = tryGit('describe', '--tags', '--abbrev=0', '--match', '@c2p/*@*', 'HEAD');
  if (tag) return { base: tag, why: `release tag ${tag}` };
  const head = tryGit('rev-parse', 'HEAD');
  for (const branch of ['origin/main', 'main']) {
    const base = tryGit('merge-base', 'HEAD', branch);
    if (base && base !== head) return { base, why: `merge base with ${branch}` };
  }
  return undefined;
}

/** The package names a changeset file's front matter releases. */
function releasedBy(text) {
  const front = /^---\n([\s\S]*?)\n---/.exec(text)?.[1] ?? '';
  return [...front.matchAll(/^\s*["']?([^"':]+)["']?\s*:\s*(major|minor|patch)\s*$/gm)].map(
    (m) => m[1],
  );
}

const names = Object.fromEntries(
  publicPackages.map((dir) => [dir, readJson(join(root, 'packages', dir, 'package.json')).name]),
);
const found = findBase();

if (found) {
  const { base, why } = found;
  report.log(`base: ${why} (${base.slice(0, 12)})`);
  const added = git('diff', '--name-only', '--diff-filter=AM', base, 'HEAD', '--', '.changeset')
    .split('\n')
    .filter((f) => f.endsWith('.md') && !f.endsWith('README.md'));
  // Uncommitted changesets count too, so the check can be run before committing.
  const pending = readdirSync(join(root, '.changeset')).filter(
    (f) => f.endsWith('.md') && f !== 'README.md',
  );
  const status = tryGit('status', '--porcelain', '--', '.changeset') ?? '';
  const uncommitted = pending.filter((f) => status.includes(f)).map((f) => `.changeset/${f}`);
  const covered = new Set();
  for (const file of new Set([...added, ...uncommitted])) {
    if (existsSync(join(root, file)))
      for (const name of releasedBy(readFileSync(join(root, file), 'utf8'))) covered.add(name);
  }
  for (const dir of publicPackages) {
    await report.check(`${names[dir]}: a source change since the base has a changeset`, () => {
      const changed = git(
        'diff',
        '--name-only',
        base,
        '--',
        `packages/${dir}/src`,
        `packages/${dir}/package.json`,
        `packages/${dir}/tsup.config.ts`,
        `packages/${dir}/tsconfig.json`,
      )
        .split('\n')
        .filter(Boolean)
        .filter((file) => !(file.endsWith('package.json') && onlyVersionChanged(base, file)))
        .filter((file) => !/\.test(-d)?\.ts$/.test(file));
      if (changed.length === 0) return;
      assert(
        covered.has(names[dir]),
        `changed without a changeset naming ${names[dir]}: ${changed.slice(0, 5).join(', ')}${changed.length > 5 ? ', …' : ''}. Add one: npm run changeset`,
      );
    });
  }
} else {
  report.log(
    'no release tag and no merge base: checking that every unreleased package has a pending changeset',
  );
  const pending = readdirSync(join(root, '.changeset'))
    .filter((f) => f.endsWith('.md') && f !== 'README.md')
    .flatMap((f) => releasedBy(readFileSync(join(root, '.changeset', f), 'utf8')));
  for (const dir of publicPackages) {
    const { version } = readJson(join(root, 'packages', dir, 'package.json'));
    await report.check(
      `${names[dir]}@${version}: ${version === '0.0.0' ? 'unreleased, so a pending changeset names it' : 'released; nothing to compare against'}`,
      () => {
        if (version === '0.0.0')
          assert(pending.includes(names[dir]), `no pending changeset names ${names[dir]}`);
      },
    );
  }
}

function onlyVersionChanged(base, file) {
  const before = tryGit('show', `${base}:${file}`);
  if (!before || !existsSync(join(root, file))) return false;
  const strip = (text) => JSON.stringify({ ...JSON.parse(text), version: undefined });
  return strip(before) === strip(readFileSync(join(root, file), 'utf8'));
}

report.finish();
