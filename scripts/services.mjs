#!/usr/bin/env node
// Local PostgreSQL and Redis for the store tests and benchmarks, on loopback only.
//
//   node scripts/services.mjs start|stop|status|restart [postgres|redis ...] [--chromium]
//
// `start` is idempotent and works on a brand-new Debian machine: it installs the
// missing Debian packages (postgresql, redis-server, and chromium when asked for)
// with apt-get when running as root, creates the data directories under `.services/`
// (gitignored), starts both servers on dedicated ports and waits until they answer.
// scripts/test.mjs imports `ensureServices()` to get the URLs as env vars, and
// stops what it started when the run ends, so the next checkout's `npm test`
// finds the ports free. A server left behind by a deleted checkout is stopped.

import { execFileSync, spawnSync } from 'node:child_process';
import {
  chmodSync,
  chownSync,
  existsSync,
  mkdirSync,
  readdirSync,
  readFileSync,
  readlinkSync,
  realpathSync,
  statSync,
} from 'node:fs';
import { createConnection } from 'node:net';
import { delimiter, dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const servicesDir = join(root, '.services');
const host = '127.0.0.1';

/**
 * Dedicated ports, away from the defaults so a system server never collides.
 * e2e/services.mjs moves them (C2P_SERVICES_*_PORT) to test this file on servers of its own.
 */
const portEnv = (name, fallback) => Number(process.env[`C2P_SERVICES_${name}_PORT`] ?? fallback);
export const ports = {
  postgres: portEnv('POSTGRES', 54329),
  redis: portEnv('REDIS', 63799),
};

/** The URLs the tests read, keyed by the env var they are read from. */
export const urls = {
  C2P_TEST_POSTGRES_URL: `postgres://postgres@${host}:${ports.postgres}/c2p`,
  C2P_TEST_REDIS_URL: `redis://${host}:${ports.redis}`,
};

const names = ['postgres', 'redis'];
const isRoot = typeof process.getuid === 'function' && process.getuid() === 0;

function log(message) {
  console.log(`[services] ${message}`);
}

function which(binary) {
  for (const dir of (process.env.PATH ?? '').split(delimiter)) {
    if (dir && existsSync(join(dir, binary))) return join(dir, binary);
  }
  return undefined;
}

/** Debian keeps PostgreSQL's server binaries off PATH, per major version. */
function postgresBin(binary) {
  const base = '/usr/lib/postgresql';
  if (existsSync(base)) {
    const versions = readdirSync(base)
      .filter((v) => existsSync(join(base, v, 'bin', binary)))
      .sort((a, b) => Number(b) - Number(a));
    if (versions[0]) return join(base, versions[0], 'bin', binary);
  }
  return which(binary);
}

function redisBin(binary) {
  return which(binary) ?? (existsSync(`/usr/bin/${binary}`) ? `/usr/bin/${binary}` : undefined);
}

function chromiumBin() {
  return which('chromium') ?? which('chromium-browser');
}

/** What each Debian package provides, checked by its binary. */
const requirements = [
  { pkg: 'postgresql', present: () => Boolean(postgresBin('initdb') && postgresBin('pg_ctl')) },
  {
    pkg: 'redis-server',
    present: () => Boolean(redisBin('redis-server') && redisBin('redis-cli')),
  },
];
const chromiumRequirement = { pkg: 'chromium', present: () => Boolean(chromiumBin()) };

function run(command, args, options = {}) {
  execFileSync(command, args, { stdio: ['ignore', 'inherit', 'inherit'], ...options });
}

/**
 * Installs the missing packages with apt-get (update once, then install -y), or
 * fails saying exactly what is missing and how to get it.
 */
export function ensureInstalled({ chromium = false } = {}) {
  const wanted = chromium ? [...requirements, chromiumRequirement] : requirements;
  const missing = wanted.filter((r) => !r.present()).map((r) => r.pkg);
  if (missing.length === 0) return;
  const aptGet = which('apt-get');
  if (!isRoot || !aptGet) {
    const why = !aptGet ? 'apt-get is not available' : 'not running as root';
    throw new Error(
      `[services] missing Debian packages: ${missing.join(', ')} (${why}).\n` +
        `  Install them, e.g.: sudo apt-get update && sudo apt-get install -y ${missing.join(' ')}\n` +
        '  then run: node scripts/services.mjs start',
    );
  }
  log(`installing ${missing.join(', ')} with apt-get`);
  const env = { ...process.env, DEBIAN_FRONTEND: 'noninteractive' };
  run(aptGet, ['update'], { env });
  run(aptGet, ['install', '-y', '--no-install-recommends', ...missing], { env });
  const still = wanted.filter((r) => !r.present()).map((r) => r.pkg);
  if (still.length > 0) throw new Error(`[services] apt-get did not provide: ${still.join(', ')}`);
}

/** Resolves true when something accepts TCP connections on the port. */
function probe(port, payload, expect) {
  return new Promise((done) => {
    const socket = createConnection({ host, port });
    let answer = '';
    const finish = (ok) => {
      socket.destroy();
      done(ok);
    };
    socket.setTimeout(1000, () => finish(false));
    socket.on('error', () => finish(false));
    socket.on('close', () => finish(false));
    socket.on('connect', () => {
      if (!payload) finish(true);
      else socket.write(payload);
    });
    socket.on('data', (chunk) => {
      answer += chunk.toString('latin1');
      if (answer.includes(expect)) finish(true);
    });
  });
}

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

async function waitFor(check, what, timeoutMs = 30_000) {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (await check()) return;
    await sleep(100);
  }
  throw new Error(`[services] ${what} did not answer within ${timeoutMs / 1000}s`);
}

// ---- PostgreSQL -------------------------------------------------------------

const pgDir = join(servicesDir, 'postgres');
const pgData = join(pgDir, 'data');
const pgLog = join(pgDir, 'postgres.log');

/** PostgreSQL refuses to run as root: then its tools run as the `postgres` user. */
function asPgUser(binary, args) {
  if (!isRoot) return run(binary, args);
  return run('runuser', ['-u', 'postgres', '--', binary, ...args]);
}

/** The postgres user must be able to reach its data dir through the checkout's parents. */
function ensureTraversable(dir) {
  if (!isRoot) return;
  let current = dirname(dir);
  while (current !== dirname(current)) {
    const mode = statSync(current).mode;
    if ((mode & 0o001) === 0) {
      log(
        `granting search permission (o+x) on ${current} so the postgres user can reach .services/`,
      );
      chmodSync(current, mode | 0o001);
    }
    current = dirname(current);
  }
}

function postgresUid() {
  const out = execFileSync('id', ['-u', 'postgres']).toString().trim();
  const gid = execFileSync('id', ['-g', 'postgres']).toString().trim();
  return { uid: Number(out), gid: Number(gid) };
}

async function postgresAnswers() {
  const isready = postgresBin('pg_isready');
  if (!isready) return probe(ports.postgres);
  const result = spawnSync(isready, ['-q', '-h', host, '-p', String(ports.postgres)]);
  return result.status === 0;
}

/**
 * The process listening on a loopback port and its working directory, read from
 * /proc (PostgreSQL runs in its data directory, Redis in its `dir`). A directory
 * that was deleted reads as `… (deleted)`. Undefined where /proc does not tell
 * (not Linux, or another user's process without root).
 */
function listenerOf(port) {
  const hex = `:${port.toString(16).toUpperCase().padStart(4, '0')}`;
  const inodes = new Set();
  for (const table of ['/proc/net/tcp', '/proc/net/tcp6']) {
    if (!existsSync(table)) continue;
    for (const line of readFileSync(table, 'utf8').split('\n').slice(1)) {
      const fields = line.trim().split(/\s+/);
      if (fields[1]?.endsWith(hex) && fields[3] === '0A') inodes.add(`socket:[${fields[9]}]`);
    }
  }
  if (inodes.size === 0) return undefined;
  for (const pid of readdirSync('/proc').filter((entry) => /^\d+$/.test(entry))) {
    let fds;
    try {
      fds = readdirSync(`/proc/${pid}/fd`);
    } catch {
      continue;
    }
    for (const fd of fds) {
      let target;
      try {
        target = readlinkSync(`/proc/${pid}/fd/${fd}`);
      } catch {
        continue;
      }
      if (!inodes.has(target)) continue;
      const cwd = readlinkSync(`/proc/${pid}/cwd`);
      const deleted = cwd.endsWith(' (deleted)');
      return { pid: Number(pid), dir: deleted ? cwd.slice(0, -' (deleted)'.length) : cwd, deleted };
    }
  }
  return undefined;
}

/** The data directory of the PostgreSQL answering on our port (asked over SQL). */
function postgresOwner() {
  const args = ['-h', host, '-p', String(ports.postgres), '-U', 'postgres', '-d', 'postgres'];
  return execFileSync(postgresBin('psql'), [...args, '-tAc', 'SHOW data_directory'], {
    stdio: ['ignore', 'pipe', 'ignore'],
  })
    .toString()
    .trim();
}

/** The working directory of the Redis answering on our port (asked over its protocol). */
function redisOwner() {
  const args = ['-h', host, '-p', String(ports.redis), '--raw', 'CONFIG', 'GET', 'dir'];
  return execFileSync(redisBin('redis-cli'), args).toString().split('\n')[1]?.trim() ?? '';
}

const samePath = (a, b) => {
  try {
    return realpathSync(a) === realpathSync(b);
  } catch {
    return a === b;
  }
};

/**
 * Whose server answers on our port. A server from another checkout would be
 * shared silently, and stopped or restarted under the other's feet: refuse it,
 * saying whose. One whose checkout is gone (a deleted clone) is an orphan nobody
 * can stop by name: stop it here, and answer false so the caller starts ours.
 */
async function checkOwner(name, ours) {
  const listener = listenerOf(ports[name]);
  let owner = listener?.dir;
  if (!listener) {
    try {
      owner = name === 'postgres' ? postgresOwner() : redisOwner();
    } catch {
      owner = undefined; // a server whose files are gone may not even answer
    }
  }
  if (owner && samePath(owner, ours) && !listener?.deleted) return true;
  if (owner && (listener?.deleted || !existsSync(owner))) {
    log(
      `${name} on ${host}:${ports[name]} belongs to ${owner}, which no longer exists: stopping it`,
    );
    if (listener) process.kill(listener.pid, name === 'postgres' ? 'SIGINT' : 'SIGTERM');
    else if (name === 'redis') await probe(ports.redis, 'SHUTDOWN NOSAVE\r\n', '\0');
    else throw new Error(`[services] cannot find the process of the orphaned ${name} to stop it`);
    await waitFor(async () => !(await probe(ports[name])), `orphaned ${name} shutdown`, 30_000);
    return false;
  }
  throw new Error(
    `${name} on ${host}:${ports[name]} belongs to ${owner || 'another process'}, not to this checkout (${ours}). ` +
      `Stop it (node <its checkout>/scripts/services.mjs stop ${name}) or free the port, then run this again.`,
  );
}

/** Starts PostgreSQL; answers true when this call started it, false when it already ran. */
async function startPostgres() {
  if (await probe(ports.postgres)) {
    if (await checkOwner('postgres', pgData)) {
      await waitFor(postgresAnswers, 'postgres');
      log(`postgres already answers on ${host}:${ports.postgres}`);
      return false;
    }
  }
  mkdirSync(pgDir, { recursive: true });
  if (isRoot) {
    const { uid, gid } = postgresUid();
    chownSync(pgDir, uid, gid);
    ensureTraversable(pgDir);
  }
  if (!existsSync(join(pgData, 'PG_VERSION'))) {
    log('initdb');
    asPgUser(postgresBin('initdb'), [
      '-D',
      pgData,
      '-U',
      'postgres',
      '--auth=trust',
      '-E',
      'UTF8',
      '--no-locale',
    ]);
  }
  const serverOptions = [
    `-c listen_addresses=${host}`,
    `-p ${ports.postgres}`,
    `-c unix_socket_directories=${pgDir}`,
    '-c max_connections=200',
  ].join(' ');
  asPgUser(postgresBin('pg_ctl'), [
    '-D',
    pgData,
    '-l',
    pgLog,
    '-o',
    serverOptions,
    '-w',
    '-t',
    '60',
    'start',
  ]);
  await waitFor(postgresAnswers, 'postgres');
  const psql = postgresBin('psql');
  const psqlArgs = ['-h', host, '-p', String(ports.postgres), '-U', 'postgres', '-d', 'postgres'];
  const exists = execFileSync(psql, [
    ...psqlArgs,
    '-tAc',
    "SELECT 1 FROM pg_database WHERE datname = 'c2p'",
  ])
    .toString()
    .trim();
  if (exists !== '1') execFileSync(psql, [...psqlArgs, '-qc', 'CREATE DATABASE c2p']);
  return true;
}

async function stopPostgres() {
  if (!existsSync(join(pgData, 'PG_VERSION'))) return;
  const pgCtl = postgresBin('pg_ctl');
  if (!pgCtl) return;
  const status = isRoot
    ? spawnSync('runuser', ['-u', 'postgres', '--', pgCtl, '-D', pgData, 'status'])
    : spawnSync(pgCtl, ['-D', pgData, 'status']);
  if (status.status !== 0) return;
  asPgUser(pgCtl, ['-D', pgData, '-m', 'fast', '-w', 'stop']);
}

// ---- Redis ------------------------------------------------------------------

const redisDir = join(servicesDir, 'redis');

const redisAnswers = () => probe(ports.redis, 'PING\r\n', '+PONG');

async function shutdownRedis() {
  // The server closes the connection as it exits; no answer is expected.
  await probe(ports.redis, 'SHUTDOWN\r\n', '\0');
  await waitFor(async () => !(await probe(ports.redis)), 'redis shutdown', 15_000);
}

/** Starts Redis; answers true when this call started it, false when it already ran. */
async function startRedis() {
  if (await probe(ports.redis)) {
    if (await checkOwner('redis', redisDir)) {
      await waitFor(redisAnswers, 'redis');
      log(`redis already answers on ${host}:${ports.redis}`);
      return false;
    }
  }
  mkdirSync(redisDir, { recursive: true });
  // appendonly + everysec: a restart keeps completed keys (a graceful shutdown fsyncs).
  run(redisBin('redis-server'), [
    '--bind',
    host,
    '--port',
    String(ports.redis),
    '--dir',
    redisDir,
    '--daemonize',
    'yes',
    '--pidfile',
    join(redisDir, 'redis.pid'),
    '--logfile',
    join(redisDir, 'redis.log'),
    '--appendonly',
    'yes',
    '--appendfsync',
    'everysec',
    '--save',
    '',
    '--protected-mode',
    'yes',
  ]);
  await waitFor(redisAnswers, 'redis');
  return true;
}

async function stopRedis() {
  if (!(await probe(ports.redis))) return;
  if (await checkOwner('redis', redisDir)) await shutdownRedis();
}

// ---- Commands ---------------------------------------------------------------

const services = {
  postgres: {
    start: startPostgres,
    stop: stopPostgres,
    answers: postgresAnswers,
    url: urls.C2P_TEST_POSTGRES_URL,
  },
  redis: {
    start: startRedis,
    stop: stopRedis,
    answers: redisAnswers,
    url: urls.C2P_TEST_REDIS_URL,
  },
};

/**
 * Installs what is missing, starts PostgreSQL and Redis (idempotent) and answers
 * the env vars the tests read. Pass `{ chromium: true }` to install chromium too.
 *
 * @returns {Promise<{ C2P_TEST_POSTGRES_URL: string, C2P_TEST_REDIS_URL: string }>}
 */
export async function startServices({ chromium = false, only = names } = {}) {
  return (await ensureServices({ chromium, only })).env;
}

/**
 * As `startServices`, and also answers which services this call started (not
 * already running), so a caller such as `npm test` can stop exactly those when
 * it ends: `{ env, started }`.
 */
export async function ensureServices({ chromium = false, only = names } = {}) {
  ensureInstalled({ chromium });
  const started = [];
  for (const name of only) {
    if (await services[name].start()) started.push(name);
    log(`${name} answers at ${services[name].url}`);
  }
  return { env: { ...urls }, started };
}

/** Stops the named services (both by default); stopping a stopped one does nothing. */
export async function stopServices({ only = names } = {}) {
  for (const name of only) {
    await services[name].stop();
    log(`${name} stopped`);
  }
}

/** Restarts the named services, keeping their data. */
export async function restartServices({ only = names } = {}) {
  await stopServices({ only });
  return startServices({ only });
}

async function main(argv) {
  const [command, ...rest] = argv;
  const chromium = rest.includes('--chromium');
  const only = rest.filter((a) => !a.startsWith('--'));
  for (const name of only) {
    if (!names.includes(name))
      throw new Error(`[services] unknown service "${name}": use ${names.join(' or ')}`);
  }
  const selected = only.length > 0 ? only : names;
  switch (command) {
    case 'start':
      await startServices({ chromium, only: selected });
      break;
    case 'stop':
      await stopServices({ only: selected });
      break;
    case 'restart':
      await restartServices({ only: selected });
      break;
    case 'status': {
      let allUp = true;
      for (const name of selected) {
        const up = await services[name].answers();
        allUp &&= up;
        console.log(`${name}: ${up ? `up at ${services[name].url}` : 'down'}`);
      }
      process.exitCode = allUp ? 0 : 1;
      break;
    }
    default:
      console.error(
        'usage: node scripts/services.mjs start|stop|status|restart [postgres|redis ...] [--chromium]',
      );
      process.exitCode = 2;
  }
}

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  main(process.argv.slice(2)).catch((error) => {
    console.error(error instanceof Error ? error.message : error);
    process.exitCode = 1;
  });
}
