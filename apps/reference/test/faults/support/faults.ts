import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import { chownSync, existsSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { createServer, type IncomingMessage, type Server } from 'node:http';
import { createServer as createNetServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { credentials, mainJs } from '../../support/reference.js';

export { credentials };

export const sleep = (ms: number): Promise<void> => new Promise((done) => setTimeout(done, ms));

/** A port nobody listens on right now, so a listener can be restarted on the same one. */
export async function freePort(): Promise<number> {
  const server = createNetServer();
  await new Promise<void>((done) => server.listen(0, '127.0.0.1', done));
  const address = server.address();
  await new Promise<void>((done) => server.close(() => done()));
  if (address === null || typeof address === 'string') throw new Error('no port');
  return address.port;
}

/** The value below which `p` percent of `values` fall (nearest rank). */
export function percentile(values: readonly number[], p: number): number {
  if (values.length === 0) return Number.NaN;
  const sorted = [...values].sort((a, b) => a - b);
  const rank = Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1));
  return sorted[rank] as number;
}

export const ms = (value: number): string => `${Math.round(value)} ms`;

/** What a supervised listener went through. */
export interface SupervisorStats {
  kills: number;
  /** From `ready` to the SIGKILL, per life that was killed. */
  uptimesMs: number[];
  /** From the SIGKILL to the next `ready`. */
  downtimesMs: number[];
  /** The same spells on the wall clock (`Date.now()`), to place a delivery's attempts in them. */
  deadSpells: Array<{ from: number; to: number }>;
  /** Exits nobody asked for (not our SIGKILL or SIGTERM), with the process's last output. */
  crashes: string[];
}

/**
 * One reference listener as a user runs it (`node dist/main.js`, settings by
 * env), on ports fixed for its whole life, so a restart comes back at the same
 * URLs, as it would under a supervisor.
 */
export interface Supervisor {
  readonly webhookUrl: string;
  readonly adminUrl: string;
  readonly pid: number | undefined;
  /** How many processes were started (1 + restarts). */
  readonly starts: number;
  stats(): SupervisorStats;
  /** SIGKILLs the process, restarts it at once and resolves when the new one is ready. */
  killAndRestart(): Promise<void>;
  /** The last output of the current process, for failure messages. */
  tail(): string;
  /** SIGTERM, and the exit code; a process that does not exit in 15 s is SIGKILLed. */
  stop(): Promise<number | null>;
}

export interface SupervisorOptions {
  env: Record<string, string>;
  /** One of express, fastify, hono: a single adapter starts fastest. */
  adapter: 'express' | 'fastify' | 'hono';
}

const portSetting = {
  express: 'EXPRESS_PORT',
  fastify: 'FASTIFY_PORT',
  hono: 'HONO_PORT',
} as const;

/**
 * The app under test: `dist/main.js`, or another build named by
 * `C2P_FAULT_MAIN_JS` (to watch these tests fail against a build without a guarantee).
 */
const appJs = process.env.C2P_FAULT_MAIN_JS ?? mainJs;

/** Starts the built app and waits for its `ready` line. */
export async function supervise(options: SupervisorOptions): Promise<Supervisor> {
  if (!existsSync(appJs)) {
    throw new Error(
      `${appJs} is missing: build first (npm run pnpm -- exec turbo run build --filter=@c2p/reference...)`,
    );
  }
  const webhookPort = await freePort();
  const adminPort = await freePort();
  const env: Record<string, string> = {
    PATH: process.env.PATH ?? '',
    C2P_WEBHOOK_USERNAME: credentials.username,
    C2P_WEBHOOK_PASSWORD: credentials.password,
    C2P_ADAPTERS: options.adapter,
    [portSetting[options.adapter]]: String(webhookPort),
    ADMIN_PORT: String(adminPort),
    ...options.env,
  };
  const stats: SupervisorStats = {
    kills: 0,
    uptimesMs: [],
    downtimesMs: [],
    deadSpells: [],
    crashes: [],
  };
  let expectingExit = false;
  let child: ChildProcess;
  let output = '';
  let readyAt = 0;
  let starts = 0;
  let stopped = false;

  const start = async (): Promise<void> => {
    starts++;
    output = '';
    child = spawn(process.execPath, [appJs], { env, stdio: 'pipe' });
    const current = child;
    await new Promise<void>((done, fail) => {
      const timer = setTimeout(
        () => fail(new Error(`not ready after 60 s\n${output.slice(-4000)}`)),
        60_000,
      );
      const onData = (chunk: string): void => {
        output = (output + chunk).slice(-64_000);
        if (readyAt < 0 && output.includes('"msg":"ready"')) {
          readyAt = performance.now();
          clearTimeout(timer);
          done();
        }
      };
      readyAt = -1;
      current.stdout?.setEncoding('utf8').on('data', onData);
      current.stderr?.setEncoding('utf8').on('data', onData);
      current.once('exit', (code, signal) => {
        if (!expectingExit) {
          stats.crashes.push(`exited ${code ?? signal} unasked:\n${output.slice(-3000)}`);
        }
        if (readyAt < 0) {
          clearTimeout(timer);
          fail(new Error(`exited ${code ?? signal} before ready\n${output.slice(-4000)}`));
        }
      });
    });
  };

  const exited = (process: ChildProcess): Promise<number | null> =>
    process.exitCode !== null || process.signalCode !== null
      ? Promise.resolve(process.exitCode)
      : new Promise((done) => process.once('exit', (code) => done(code)));

  await start();
  return {
    webhookUrl: `http://127.0.0.1:${webhookPort}/webhooks/clik2pay`,
    adminUrl: `http://127.0.0.1:${adminPort}/`,
    get pid() {
      return child.pid;
    },
    get starts() {
      return starts;
    },
    stats: () => stats,
    tail: () => output.slice(-4000),
    async killAndRestart() {
      if (stopped) throw new Error('the listener was stopped');
      const killedAt = performance.now();
      const from = Date.now();
      stats.uptimesMs.push(killedAt - readyAt);
      const dead = exited(child);
      expectingExit = true;
      child.kill('SIGKILL');
      await dead;
      expectingExit = false;
      stats.kills++;
      if (stopped) throw new Error('the listener was stopped');
      await start();
      stats.downtimesMs.push(readyAt - killedAt);
      stats.deadSpells.push({ from, to: Date.now() });
    },
    async stop() {
      stopped = true;
      expectingExit = true;
      const current = child;
      const code = exited(current);
      current.kill('SIGTERM');
      const timer = setTimeout(() => current.kill('SIGKILL'), 15_000);
      try {
        return await code;
      } finally {
        clearTimeout(timer);
      }
    },
  };
}

/** One call the downstream order system received. */
export interface DownstreamCall {
  orderId: string;
  key: string;
  status: number;
  at: number;
}

/**
 * The merchant's order system (`C2P_FULFIL_URL`), on loopback: it records every
 * call's `Idempotency-Key` and order, and answers what the test tells it to.
 */
export interface Downstream {
  readonly url: string;
  readonly calls: DownstreamCall[];
  /** Calls received so far, answered or not. */
  readonly received: number;
  /** The status to answer from now on (200 by default). */
  status: number;
  /** How long to wait before answering, from now on. */
  delayMs: number;
  /** Per order, the distinct keys seen and the number of calls. */
  byOrder(): Map<string, { keys: Set<string>; calls: number }>;
  close(): Promise<void>;
}

export async function startDownstream(): Promise<Downstream> {
  const calls: DownstreamCall[] = [];
  const state = { status: 200, delayMs: 0, received: 0 };
  const server: Server = createServer((request: IncomingMessage, response) => {
    state.received++;
    let body = '';
    request.setEncoding('utf8');
    request.on('data', (chunk: string) => {
      body += chunk;
    });
    request.on('end', () => {
      const status = state.status;
      const answer = (): void => {
        let orderId = '';
        try {
          orderId = String((JSON.parse(body) as { orderId?: unknown }).orderId ?? '');
        } catch {
          orderId = '';
        }
        const key = String(request.headers['idempotency-key'] ?? '');
        calls.push({ orderId, key, status, at: performance.now() });
        response.writeHead(status, { 'content-type': 'application/json' });
        response.end(JSON.stringify({ ok: status < 300 }));
      };
      if (state.delayMs > 0) setTimeout(answer, state.delayMs);
      else answer();
    });
  });
  server.keepAliveTimeout = 1_000;
  await new Promise<void>((done) => server.listen(0, '127.0.0.1', done));
  const address = server.address();
  if (address === null || typeof address === 'string') throw new Error('no port');
  return {
    url: `http://127.0.0.1:${address.port}/fulfil`,
    calls,
    get received() {
      return state.received;
    },
    get status() {
      return state.status;
    },
    set status(value: number) {
      state.status = value;
    },
    get delayMs() {
      return state.delayMs;
    },
    set delayMs(value: number) {
      state.delayMs = value;
    },
    byOrder() {
      const orders = new Map<string, { keys: Set<string>; calls: number }>();
      for (const call of calls) {
        const entry = orders.get(call.orderId) ?? { keys: new Set<string>(), calls: 0 };
        entry.keys.add(call.key);
        entry.calls++;
        orders.set(call.orderId, entry);
      }
      return orders;
    },
    close: () =>
      new Promise<void>((done) => {
        server.closeAllConnections();
        server.close(() => done());
      }),
  };
}

/** An order as `GET /api/orders/:id` answers it, or `undefined` for a 404. */
export interface OrderView {
  id: string;
  state: string;
  fulfilments: number;
}

export async function readOrder(adminUrl: string, id: string): Promise<OrderView | undefined> {
  const response = await fetch(new URL(`api/orders/${encodeURIComponent(id)}`, adminUrl));
  if (response.status === 404) {
    await response.arrayBuffer();
    return undefined;
  }
  if (response.status !== 200) {
    throw new Error(`GET /api/orders/${id} answered ${response.status}: ${await response.text()}`);
  }
  return (await response.json()) as OrderView;
}

/** What each order should end as. */
export type Expectation = 'paid' | 'failed';

/**
 * Reads every order until each is as expected or the deadline passes, and
 * answers the last view of each (re-reading only the ones not there yet).
 */
export async function settleOrders(
  adminUrl: string,
  expected: ReadonlyMap<string, Expectation>,
  deadlineMs: number,
): Promise<Map<string, OrderView | undefined>> {
  const views = new Map<string, OrderView | undefined>();
  const isDone = (id: string): boolean => {
    const view = views.get(id);
    const want = expected.get(id);
    if (!view) return false;
    return want === 'paid'
      ? view.state === 'paid' && view.fulfilments >= 1
      : view.state === want && view.fulfilments === 0;
  };
  const until = performance.now() + deadlineMs;
  let pending = [...expected.keys()];
  for (;;) {
    let next = 0;
    const worker = async (): Promise<void> => {
      while (next < pending.length) {
        const id = pending[next++] as string;
        views.set(id, await readOrder(adminUrl, id));
      }
    };
    await Promise.all(Array.from({ length: 8 }, worker));
    pending = pending.filter((id) => !isDone(id));
    if (pending.length === 0 || performance.now() > until) return views;
    await sleep(500);
  }
}

/** The inbox's counts by state from `GET /api/inbox`, or `undefined` when the app has no inbox. */
export async function inboxCounts(adminUrl: string): Promise<Record<string, number> | undefined> {
  const response = await fetch(new URL('api/inbox', adminUrl));
  if (response.status === 404) {
    await response.arrayBuffer();
    return undefined;
  }
  if (response.status !== 200) {
    throw new Error(`GET /api/inbox answered ${response.status}: ${await response.text()}`);
  }
  const body = (await response.json()) as { counts?: Record<string, number> };
  return body.counts ?? (body as Record<string, number>);
}

/**
 * Fails unless the app runs in inbox mode: it must answer `GET /api/inbox`.
 * (An app that does not know `C2P_MODE` would silently run sync.)
 */
export async function requireInbox(adminUrl: string): Promise<void> {
  const counts = await inboxCounts(adminUrl);
  if (counts === undefined || typeof counts.pending !== 'number') {
    throw new Error(
      'C2P_MODE=inbox: the app has no inbox (GET /api/inbox answered 404 or no counts): build an app with inbox mode',
    );
  }
}

export { createDatabase } from '../../support/reference.js';

/** Debian keeps PostgreSQL's server binaries off PATH, per major version. */
function postgresBin(binary: string): string {
  const base = '/usr/lib/postgresql';
  if (existsSync(base)) {
    const versions = readdirSync(base)
      .filter((v) => existsSync(join(base, v, 'bin', binary)))
      .sort((a, b) => Number(b) - Number(a));
    if (versions[0]) return join(base, versions[0], 'bin', binary);
  }
  for (const dir of (process.env.PATH ?? '').split(':')) {
    if (dir && existsSync(join(dir, binary))) return join(dir, binary);
  }
  throw new Error(
    `${binary} not found: install PostgreSQL's server (node scripts/services.mjs start installs it)`,
  );
}

/** A PostgreSQL server of this test's own, so stopping it never disturbs other tests. */
export interface OwnPostgres {
  readonly url: string;
  /** `pg_ctl stop -m immediate`: the server dies as in a crash, and comes back with recovery. */
  stop(): void;
  start(): void;
  remove(): void;
}

/**
 * initdb into a temporary directory and start it on a free loopback port. As
 * root (PostgreSQL refuses to run as root) the tools run as the `postgres` user.
 */
export async function startOwnPostgres(): Promise<OwnPostgres> {
  const isRoot = process.getuid?.() === 0;
  const dir = mkdtempSync(join(tmpdir(), 'c2p-fault-pg-'));
  if (isRoot) {
    const uid = Number(execFileSync('id', ['-u', 'postgres']).toString().trim());
    const gid = Number(execFileSync('id', ['-g', 'postgres']).toString().trim());
    chownSync(dir, uid, gid);
  }
  const run = (binary: string, args: string[]): void => {
    const path = postgresBin(binary);
    if (isRoot) execFileSync('runuser', ['-u', 'postgres', '--', path, ...args], { stdio: 'pipe' });
    else execFileSync(path, args, { stdio: 'pipe' });
  };
  const data = join(dir, 'data');
  const port = await freePort();
  run('initdb', ['-D', data, '-U', 'postgres', '--auth=trust', '-E', 'UTF8', '--no-locale']);
  const options = [
    '-c listen_addresses=127.0.0.1',
    `-p ${port}`,
    `-c unix_socket_directories=${dir}`,
    '-c max_connections=50',
  ].join(' ');
  const start = (): void =>
    run('pg_ctl', ['-D', data, '-l', join(dir, 'log'), '-o', options, '-w', '-t', '60', 'start']);
  const stop = (mode: 'immediate' | 'fast'): void =>
    run('pg_ctl', ['-D', data, '-m', mode, '-w', '-t', '60', 'stop']);
  start();
  let running = true;
  return {
    url: `postgres://postgres@127.0.0.1:${port}/postgres`,
    stop() {
      stop('immediate');
      running = false;
    },
    start() {
      start();
      running = true;
    },
    remove() {
      if (running) {
        try {
          stop('fast');
        } catch {
          // already stopped
        }
      }
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
