#!/usr/bin/env node

// Proves the release configuration in a temporary copy of the workspace's
// manifests: `changeset version` must give the versions and changelogs we
// promise in CONTRIBUTING.md (a first release of minor changes is 0.1.0
// throughout; core and the adapters move together; a store's peer range on core
// does not drag it to a major).

import { spawnSync } from 'node:child_process';
import {
  cpSync,
  existsSync,
  mkdirSync,
  readdirSync,
  readFileSync,
  rmSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs';
import { join } from 'node:path';
import { assertEqual, createReport, publicPackages, readJson, root, run, tempDir } from './lib.mjs';

const report = createReport('release');
const changeset = join(root, 'node_modules', '.bin', 'changeset');
const names = Object.fromEntries(
  publicPackages.map((dir) => [dir, readJson(join(root, 'packages', dir, 'package.json')).name]),
);
const fixedGroup = ['core', 'adapter-express', 'adapter-fastify', 'adapter-hono'];

/** A copy of what changesets reads: manifests, workspace file, config; no sources. */
function copyWorkspace({ version, withPendingChangesets }) {
  const dir = tempDir('release');
  for (const file of ['package.json', 'pnpm-workspace.yaml'])
    cpSync(join(root, file), join(dir, file));
  mkdirSync(join(dir, '.changeset'));
  cpSync(join(root, '.changeset', 'config.json'), join(dir, '.changeset', 'config.json'));
  if (withPendingChangesets) {
    for (const file of readdirSync(join(root, '.changeset'))) {
      if (file.endsWith('.md') && file !== 'README.md') {
        cpSync(join(root, '.changeset', file), join(dir, '.changeset', file));
      }
    }
  }
  const folders = [
    ...readdirSync(join(root, 'packages')).map((d) => join('packages', d)),
    ...readdirSync(join(root, 'apps')).map((d) => join('apps', d)),
    'bench',
  ];
  for (const folder of folders) {
    if (!existsSync(join(root, folder, 'package.json'))) continue;
    mkdirSync(join(dir, folder), { recursive: true });
    const manifest = readJson(join(root, folder, 'package.json'));
    if (version && !manifest.private) manifest.version = version;
    writeFileSync(join(dir, folder, 'package.json'), `${JSON.stringify(manifest, null, 2)}\n`);
  }
  // changesets resolves its changelog generator from the copy's node_modules.
  symlinkSync(join(root, 'node_modules'), join(dir, 'node_modules'), 'dir');
  return dir;
}

function writeChangeset(dir, id, releases, summary) {
  const front = Object.entries(releases)
    .map(([pkg, type]) => `'${names[pkg]}': ${type}`)
    .join('\n');
  writeFileSync(join(dir, '.changeset', `${id}.md`), `---\n${front}\n---\n\n${summary}\n`);
}

function versionIn(dir) {
  run(changeset, ['version'], { cwd: dir });
  return Object.fromEntries(
    publicPackages.map((pkg) => [pkg, readJson(join(dir, 'packages', pkg, 'package.json'))]),
  );
}

function changelog(dir, pkg) {
  const file = join(dir, 'packages', pkg, 'CHANGELOG.md');
  return existsSync(file) ? readFileSync(file, 'utf8') : undefined;
}

const dirs = [];

await report.check('a minor changeset for every public package releases 0.1.0 throughout', () => {
  const dir = copyWorkspace({ version: '0.0.0' });
  dirs.push(dir);
  for (const pkg of publicPackages)
    writeChangeset(dir, `first-${pkg}`, { [pkg]: 'minor' }, `First release of ${pkg}.`);
  const after = versionIn(dir);
  assertEqual(
    Object.fromEntries(publicPackages.map((p) => [p, after[p].version])),
    Object.fromEntries(publicPackages.map((p) => [p, '0.1.0'])),
    'versions',
  );
  for (const pkg of publicPackages) {
    const before = readJson(join(root, 'packages', pkg, 'package.json'));
    assertEqual(
      after[pkg].peerDependencies ?? {},
      before.peerDependencies ?? {},
      `${pkg} peer ranges`,
    );
  }
});

await report.check("the repository's pending changesets release no major version", () => {
  const dir = copyWorkspace({ withPendingChangesets: true });
  dirs.push(dir);
  const pending = readdirSync(join(dir, '.changeset')).filter((f) => f.endsWith('.md'));
  if (pending.length === 0) return; // nothing pending: nothing to release
  const before = Object.fromEntries(
    publicPackages.map((p) => [p, readJson(join(root, 'packages', p, 'package.json')).version]),
  );
  const after = versionIn(dir);
  for (const pkg of publicPackages) {
    const [major] = before[pkg].split('.');
    const [nextMajor] = after[pkg].version.split('.');
    const allowed = before[pkg].startsWith('0.') ? '0' : major;
    if (nextMajor !== allowed) {
      throw new Error(
        `${pkg}: ${before[pkg]} -> ${after[pkg].version} (a major; no changeset asks for one)`,
      );
    }
  }
  const fixed = new Set(fixedGroup.map((p) => after[p].version));
  assertEqual(fixed.size, 1, `core and adapters share one version (${[...fixed].join(', ')})`);
});

await report.check(
  'a patch to core and a minor to one store, from 0.1.0: exact versions and changelogs',
  () => {
    const dir = copyWorkspace({ version: '0.1.0' });
    dirs.push(dir);
    writeChangeset(dir, 'core-fix', { core: 'patch' }, 'Fix a thing in core.');
    writeChangeset(
      dir,
      'sqlite-feature',
      { 'store-sqlite': 'minor' },
      'A new option for the SQLite store.',
    );
    const after = versionIn(dir);
    assertEqual(
      Object.fromEntries(publicPackages.map((p) => [p, after[p].version])),
      {
        core: '0.1.1',
        'adapter-express': '0.1.1',
        'adapter-fastify': '0.1.1',
        'adapter-hono': '0.1.1',
        'store-sqlite': '0.2.0',
        'store-postgres': '0.1.0',
        'store-redis': '0.1.0',
        testing: '0.1.0',
        api: '0.1.0',
      },
      'versions',
    );
    const expected = {
      core: `# ${names.core}\n\n## 0.1.1\n\n### Patch Changes\n\n- Fix a thing in core.\n`,
      'store-sqlite': `# ${names['store-sqlite']}\n\n## 0.2.0\n\n### Minor Changes\n\n- A new option for the SQLite store.\n`,
    };
    for (const adapter of fixedGroup.slice(1))
      expected[adapter] = `# ${names[adapter]}\n\n## 0.1.1\n`;
    for (const pkg of publicPackages) {
      assertEqual(changelog(dir, pkg), expected[pkg], `${pkg}/CHANGELOG.md`);
    }
    assertEqual(
      readdirSync(join(dir, '.changeset')).filter((f) => f.endsWith('.md')),
      [],
      'changesets consumed',
    );
  },
);

await report.check(
  'the changeset check, in a clone: no base passes; a source change after a release tag needs a changeset naming it',
  () => {
    const dir = join(tempDir('changeset-check'), 'clone');
    dirs.push(join(dir, '..'));
    run('git', ['clone', '--quiet', '--no-hardlinks', root, dir]);
    const git = (...args) =>
      run('git', ['-c', 'user.name=e2e', '-c', 'user.email=e2e@example.invalid', ...args], {
        cwd: dir,
      });
    const check = () =>
      spawnSync(process.execPath, ['e2e/changesets.mjs'], {
        cwd: dir,
        encoding: 'utf8',
        env: { ...process.env, C2P_CHANGESET_BASE: '' },
      });
    const fresh = check();
    assertEqual(fresh.status, 0, `a fresh clone without tags passes (output:\n${fresh.stdout})`);
    git('tag', '@c2p/core@0.0.0');
    for (const file of readdirSync(join(dir, '.changeset')).filter(
      (f) => f.endsWith('.md') && f !== 'README.md',
    )) {
      rmSync(join(dir, '.changeset', file));
    }
    git('commit', '--quiet', '-am', 'release: changesets consumed');
    git('tag', '@c2p/store-redis@0.0.0');
    const source = join(dir, 'packages', 'store-redis', 'src', 'index.ts');
    writeFileSync(source, `${readFileSync(source, 'utf8')}\n// a change\n`);
    git('commit', '--quiet', '-am', 'store-redis: a change');
    const missing = check();
    assertEqual(
      missing.status,
      1,
      `a change without a changeset fails (output:\n${missing.stdout})`,
    );
    if (
      !/FAIL @c2p\/store-redis/.test(missing.stdout) ||
      /FAIL @c2p\/(?!store-redis)/.test(missing.stdout)
    ) {
      throw new Error(`only @c2p/store-redis should fail:\n${missing.stdout}`);
    }
    writeFileSync(
      join(dir, '.changeset', 'redis-change.md'),
      "---\n'@c2p/store-redis': patch\n---\n\nA change.\n",
    );
    git('add', '.changeset/redis-change.md');
    git('commit', '--quiet', '-m', 'changeset');
    const covered = check();
    assertEqual(covered.status, 0, `with a changeset it passes (output:\n${covered.stdout})`);
  },
);

for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
report.finish();
