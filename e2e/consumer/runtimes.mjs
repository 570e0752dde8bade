// The runtime matrix: core and the Hono adapter, and the @c2p/api client, on Node
// 20, 22 and 24, Bun, Deno and Cloudflare's workerd (wrangler dev --local); Express
// and Fastify on Node 20, 22 and 24. Every runtime comes from the npm packages
// pinned in e2e/package.json, installed here with `npm ci`: a runtime that cannot
// be installed or started fails the run. Each adapter cell answers the six cases of
// servers/cases.mjs; each api cell runs the client with the runtime's own fetch
// against a fake Clik2pay in the harness (servers/api-cases.mjs). The root README's
// compatibility table must list exactly this matrix.

import { spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { cpSync, existsSync, readFileSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { join } from 'node:path';
import { createReport, e2eDir, readJson, root, runAsync } from '../lib.mjs';
import { runApiCases } from './servers/api-cases.mjs';
import { password, runCases } from './servers/cases.mjs';

const bin = (...parts) => join(e2eDir, 'node_modules', ...parts);
const pins = readJson(join(e2eDir, 'package.json')).devDependencies;
const pinned = (name) => pins[name].replace(/^npm:[^@]+@/, '');

/** Each runtime: how to start a server file, and the server file of each column it is tested in. */
export const runtimes = [
  ...['20', '22', '24'].map((major) => ({
    name: `Node.js ${pinned(`node${major}`)}`,
    files: {
      hono: 'hono-node.mjs',
      express: 'express.mjs',
      fastify: 'fastify.mjs',
      api: 'api-node.mjs',
    },
    command: (file) => [bin(`node${major}`, 'bin', 'node'), [file]],
  })),
  {
    name: `Bun ${pinned('bun')}`,
    files: { hono: 'hono-bun.mjs', api: 'api-bun.mjs' },
    command: (file) => [bin('.bin', 'bun'), [file]],
  },
  {
    name: `Deno ${pinned('deno')}`,
    files: { hono: 'hono-deno.mjs', api: 'api-deno.mjs' },
    command: (file) => [
      bin('.bin', 'deno'),
      ['run', '--allow-net', '--allow-env', '--allow-read', '--node-modules-dir=manual', file],
    ],
  },
  {
    name: `workerd (wrangler ${pinned('wrangler')} dev --local)`,
    files: { hono: 'hono-worker.mjs', api: 'api-worker.mjs' },
    worker: true,
  },
];

const columnProjects = {
  hono: 'adapter-hono',
  express: 'adapter-express',
  fastify: 'adapter-fastify',
  api: 'api',
};
const columnNames = { hono: 'Hono', express: 'Express', fastify: 'Fastify', api: '@c2p/api' };
const columnCases = {
  api: { title: 'create, read after a 429, 404', run: runApiCases },
};
const adapterCases = { title: 'allowed, duplicate, 401, 403, 400, 413', run: runCases };

/** The table the root README must hold between its compat markers. */
export function compatibilityTable() {
  const lines = [
    '| runtime (exact version tested) | core + Hono adapter | Express adapter | Fastify adapter | @c2p/api client |',
    '|---|---|---|---|---|',
  ];
  for (const runtime of runtimes) {
    const cell = (column) => (column in runtime.files ? 'tested' : '–');
    lines.push(
      `| ${runtime.name} | ${cell('hono')} | ${cell('express')} | ${cell('fastify')} | ${cell('api')} |`,
    );
  }
  return lines.join('\n');
}

/** Installs the pinned runtimes with `npm ci`, unless this exact lockfile is installed. */
export async function installRuntimes() {
  const lock = readFileSync(join(e2eDir, 'package-lock.json'));
  const stamp = join(e2eDir, 'node_modules', '.c2p-installed');
  const hash = createHash('sha256').update(lock).digest('hex');
  if (existsSync(stamp) && readFileSync(stamp, 'utf8') === hash) return 'already installed';
  const started = Date.now();
  const { code, output } = await runAsync('npm', ['ci', '--no-audit', '--no-fund'], {
    cwd: e2eDir,
  });
  if (code !== 0) throw new Error(`npm ci in e2e/ failed (exit ${code}):\n${output}`);
  writeFileSync(stamp, hash);
  return `installed with npm ci in ${((Date.now() - started) / 1000).toFixed(0)} s`;
}

function freePort() {
  return new Promise((done, fail) => {
    const server = createServer();
    server.on('error', fail);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address();
      server.close(() => done(port));
    });
  });
}

/**
 * Starts a server, waits for its port (a `{"port":n}` line, or `ready` matching
 * the output), runs the cases (the six adapter cases unless told), and kills its
 * whole process group.
 */
export async function runServer({
  command,
  args,
  cwd,
  env = {},
  ready,
  port: knownPort,
  timeoutMs = 60_000,
  cases = runCases,
}) {
  const child = spawn(command, args, {
    cwd,
    detached: true,
    stdio: ['ignore', 'pipe', 'pipe'],
    env: { ...process.env, C2P_WEBHOOK_PASSWORD: password, NO_COLOR: '1', ...env },
  });
  let output = '';
  try {
    const port = await new Promise((resolve, reject) => {
      const timer = setTimeout(
        () => reject(new Error(`no port within ${timeoutMs / 1000} s`)),
        timeoutMs,
      );
      const onData = (chunk) => {
        output += chunk;
        const line = /^\{"port":(\d+)\}$/m.exec(output);
        if (line) resolve(Number(line[1]));
        else if (ready?.test(output)) resolve(knownPort);
      };
      child.stdout.on('data', onData);
      child.stderr.on('data', onData);
      child.on('error', reject);
      child.on('exit', (code, signal) =>
        reject(new Error(`exited ${code ?? signal} before listening`)),
      );
      child.on('exit', () => clearTimeout(timer));
    });
    const results = await cases(`http://127.0.0.1:${port}`);
    const wrong = results.filter(([, expected, actual]) => expected !== actual);
    if (wrong.length > 0) {
      throw new Error(
        wrong
          .map(([name, expected, actual]) => `${name}: expected ${expected}, got ${actual}`)
          .join('\n'),
      );
    }
  } catch (error) {
    throw new Error(
      `${error instanceof Error ? error.message : error}\n--- server output ---\n${output.slice(-3000)}`,
    );
  } finally {
    try {
      process.kill(-child.pid, 'SIGKILL');
    } catch {}
  }
}

/** Runs the whole matrix on the consumer projects; answers the failure count. */
export async function runMatrix(projectDirs, { install } = {}) {
  const report = createReport('runtimes');
  await report.check('README compatibility table lists exactly what this matrix tests', () => {
    const readme = readFileSync(join(root, 'README.md'), 'utf8');
    const table = /<!-- compat:start -->\n([\s\S]*?)\n<!-- compat:end -->/
      .exec(readme)?.[1]
      ?.trim();
    if (table !== compatibilityTable()) {
      throw new Error(
        `README.md between <!-- compat:start --> and <!-- compat:end --> must be:\n${compatibilityTable()}\n\nfound:\n${table}`,
      );
    }
  });
  await report.check(
    'install the pinned runtimes (Node 20/22/24, Bun, Deno, wrangler)',
    async () => {
      report.log(await (install ?? installRuntimes()));
      for (const file of [
        bin('node20', 'bin', 'node'),
        bin('node22', 'bin', 'node'),
        bin('node24', 'bin', 'node'),
        bin('.bin', 'bun'),
        bin('.bin', 'deno'),
        bin('wrangler', 'bin', 'wrangler.js'),
      ]) {
        if (!existsSync(file)) throw new Error(`${file} is missing after the install`);
      }
    },
  );
  for (const runtime of runtimes) {
    for (const [column, file] of Object.entries(runtime.files)) {
      const cwd = projectDirs[columnProjects[column]];
      const cases = columnCases[column] ?? adapterCases;
      await report.check(`${runtime.name}: ${columnNames[column]} ${cases.title}`, async () => {
        if (!cwd) throw new Error(`no consumer project for ${column}`);
        // The adapter projects got the servers for their own end-to-end check; the api project did not.
        if (!existsSync(join(cwd, file)))
          cpSync(join(import.meta.dirname, 'servers'), cwd, { recursive: true });
        if (runtime.worker) return runWorker(cwd, { main: file, cases: cases.run });
        const [command, args] = runtime.command(file);
        await runServer({
          command,
          args,
          cwd,
          env: { DENO_NO_UPDATE_CHECK: '1' },
          cases: cases.run,
        });
      });
    }
  }
  report.finish();
  return report.failed;
}

/** workerd through wrangler (which itself needs Node 22+: it runs on the pinned Node 24). */
async function runWorker(cwd, { main, cases }) {
  writeFileSync(
    join(cwd, 'wrangler.jsonc'),
    `${JSON.stringify({ name: 'c2p-e2e', main, compatibility_date: '2026-11-01' }, null, 2)}\n`,
  );
  writeFileSync(join(cwd, '.dev.vars'), `C2P_WEBHOOK_PASSWORD="${password}"\n`);
  const port = await freePort();
  const inspector = await freePort();
  await runServer({
    command: bin('node24', 'bin', 'node'),
    args: [
      bin('wrangler', 'bin', 'wrangler.js'),
      'dev',
      '--local',
      '--ip',
      '127.0.0.1',
      '--port',
      String(port),
      '--inspector-port',
      String(inspector),
      '--show-interactive-dev-session=false',
    ],
    cwd,
    port,
    ready: /Ready on http:\/\/127\.0\.0\.1:\d+/,
    env: { WRANGLER_SEND_METRICS: 'false', CI: 'true', XDG_CONFIG_HOME: join(cwd, '.config') },
    timeoutMs: 120_000,
    cases,
  });
}
