import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const appDir = resolve(dirname(fileURLToPath(import.meta.url)), '../..');
export const mainJs = join(appDir, 'dist/main.js');

export const credentials = {
  username: 'clik2pay-test',
  password: 'a-test-password-of-some-length',
};

/** A built reference app running as a child process. */
export interface RunningReference {
  child: ChildProcess;
  webhookUrls: Record<'express' | 'fastify' | 'hono', string>;
  adminUrl: string;
  stdout(): string;
  stderr(): string;
  /** Sends the signal and resolves with the exit code. */
  stop(signal?: NodeJS.Signals): Promise<number | null>;
}

function requireBuild(): void {
  if (!existsSync(mainJs)) {
    throw new Error(
      `${mainJs} is missing: build first (npm run pnpm -- exec turbo run build --filter=@c2p/reference...)`,
    );
  }
}

/**
 * The environment of a child: only what the test gives, plus PATH and every
 * port on 0 (free). A setting given as `undefined` is left out (e.g. the
 * webhook credentials, for a worker).
 */
function childEnv(env: Record<string, string | undefined>): Record<string, string> {
  const all: Record<string, string | undefined> = {
    PATH: process.env.PATH ?? '',
    C2P_WEBHOOK_USERNAME: credentials.username,
    C2P_WEBHOOK_PASSWORD: credentials.password,
    EXPRESS_PORT: '0',
    FASTIFY_PORT: '0',
    HONO_PORT: '0',
    ADMIN_PORT: '0',
    // These tests fail the order system on purpose to reach retrying and dead events;
    // the breaker (on by default) would hold those attempts for 30 s. Its own tests
    // (handler-rate, faults/downstream-outage) run it as deployed.
    C2P_BREAKER: 'off',
    ...env,
  };
  return Object.fromEntries(
    Object.entries(all).filter((entry): entry is [string, string] => entry[1] !== undefined),
  );
}

/**
 * Starts `dist/main.js` with the given settings on free ports and waits for its
 * `ready` log line, which names the URLs it got.
 */
export async function startReference(
  env: Record<string, string | undefined>,
): Promise<RunningReference> {
  requireBuild();
  const child = spawn(process.execPath, [mainJs], { env: childEnv(env), stdio: 'pipe' });
  let out = '';
  let err = '';
  child.stdout?.setEncoding('utf8').on('data', (chunk: string) => {
    out += chunk;
  });
  child.stderr?.setEncoding('utf8').on('data', (chunk: string) => {
    err += chunk;
  });
  const exited = new Promise<number | null>((done) => child.once('exit', (code) => done(code)));
  const ready = await new Promise<{ listeners: RunningReference['webhookUrls']; admin: string }>(
    (done, fail) => {
      const timer = setTimeout(
        () => fail(new Error(`not ready after 30 s\n${out}\n${err}`)),
        30_000,
      );
      const look = (): void => {
        // The banner comes after the `ready` line (its last line names SIGUSR2): wait for both.
        if (!out.includes('kill -USR2')) return;
        for (const line of out.split('\n')) {
          if (!line.startsWith('{')) continue;
          const record = JSON.parse(line) as { msg?: string; listeners?: never; admin?: string };
          if (record.msg === 'ready') {
            clearTimeout(timer);
            child.stdout?.off('data', look);
            done({ listeners: record.listeners as never, admin: record.admin as string });
            return;
          }
        }
      };
      child.stdout?.on('data', look);
      exited.then((code) => {
        clearTimeout(timer);
        fail(new Error(`exited ${code} before ready\n${out}\n${err}`));
      });
    },
  );
  return {
    child,
    webhookUrls: ready.listeners,
    adminUrl: ready.admin,
    stdout: () => out,
    stderr: () => err,
    async stop(signal = 'SIGTERM') {
      if (child.exitCode === null && child.signalCode === null) child.kill(signal);
      return exited;
    },
  };
}

/** Runs the app expecting it to refuse to start: resolves with its exit code and output. */
export async function runToExit(
  env: Record<string, string>,
  timeoutMs = 20_000,
): Promise<{ code: number | null; stdout: string; stderr: string }> {
  requireBuild();
  const child = spawn(process.execPath, [mainJs], { env: childEnv(env), stdio: 'pipe' });
  let stdout = '';
  let stderr = '';
  child.stdout.setEncoding('utf8').on('data', (c: string) => {
    stdout += c;
  });
  child.stderr.setEncoding('utf8').on('data', (c: string) => {
    stderr += c;
  });
  const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
  const code = await new Promise<number | null>((done) => child.once('exit', done));
  clearTimeout(timer);
  return { code, stdout, stderr };
}

/** Reads JSON from the admin. */
export async function getJson<T>(url: string): Promise<{ status: number; body: T }> {
  const response = await fetch(url);
  return { status: response.status, body: (await response.json()) as T };
}

export interface OrderBody {
  id: string;
  state: string;
  fulfilments: number;
  amount: number | null;
  merchantTransactionId: string | null;
  fulfilment: 'none' | 'pending' | 'retrying' | 'dead' | 'done';
  events: Array<{ key: string; effect: string; eventType: string }>;
  inbox: string[];
}

export interface DeliveryBody {
  listener: string;
  status: number;
  outcome: 'processed' | 'accepted' | 'duplicate' | 'rejected';
  code: string | null;
  step: string;
  events: Array<{ resourceId: string; outcome: string }>;
}

/** A temporary directory removed by the returned function. */
export function tempDir(): { path: string; remove(): void } {
  const path = mkdtempSync(join(tmpdir(), 'c2p-reference-'));
  return { path, remove: () => rmSync(path, { recursive: true, force: true }) };
}

/** A self-signed certificate for localhost, made with openssl now (keys are never committed). */
export function selfSignedCertificate(dir: string): {
  certFile: string;
  keyFile: string;
  cert: string;
} {
  const certFile = join(dir, 'cert.pem');
  const keyFile = join(dir, 'key.pem');
  execFileSync(
    'openssl',
    [
      'req',
      '-x509',
      '-newkey',
      'rsa:2048',
      '-nodes',
      '-sha256',
      '-days',
      '1',
      '-subj',
      '/CN=localhost',
      '-addext',
      'subjectAltName=DNS:localhost,IP:127.0.0.1,IP:::1',
      '-keyout',
      keyFile,
      '-out',
      certFile,
    ],
    { stdio: 'pipe' },
  );
  return { certFile, keyFile, cert: readFileSync(certFile, 'utf8') };
}

/** The URL a test service is at, or a failure naming how to start it (never a skip). */
export function serviceUrl(name: 'C2P_TEST_POSTGRES_URL' | 'C2P_TEST_REDIS_URL'): string {
  const url = process.env[name];
  if (!url) {
    throw new Error(
      `${name} is not set: start the services with \`node scripts/services.mjs start\` and export the URL it prints`,
    );
  }
  return url;
}

/** Polls `read` until `done` holds for its answer, or fails after `timeoutMs` naming `what`. */
export async function waitFor<T>(
  what: string,
  read: () => Promise<T>,
  done: (value: T) => boolean,
  timeoutMs = 15_000,
): Promise<T> {
  const until = Date.now() + timeoutMs;
  for (;;) {
    const value = await read();
    if (done(value)) return value;
    if (Date.now() > until) {
      throw new Error(
        `${what}: not reached within ${timeoutMs} ms; last: ${JSON.stringify(value)}`,
      );
    }
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

/** A database of its own on the test PostgreSQL (so no other test's inbox shares it), dropped by `drop()`. */
export async function createDatabase(
  serverUrl = serviceUrl('C2P_TEST_POSTGRES_URL'),
): Promise<{ url: string; drop(): Promise<void> }> {
  const { default: pg } = await import('pg');
  const name = `c2p_reference_${Math.random().toString(36).slice(2, 10)}`;
  const admin = new pg.Client({ connectionString: serverUrl });
  await admin.connect();
  try {
    await admin.query(`CREATE DATABASE ${name}`);
  } finally {
    await admin.end();
  }
  const url = new URL(serverUrl);
  url.pathname = `/${name}`;
  return {
    url: url.href,
    async drop() {
      const client = new pg.Client({ connectionString: serverUrl });
      await client.connect();
      try {
        await client.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
      } finally {
        await client.end();
      }
    },
  };
}

/** An inbox event as `GET /api/inbox` lists it. */
export interface InboxEventBody {
  id: string;
  key: string;
  eventType: string;
  resource: string;
  state: 'pending' | 'retrying' | 'dead' | 'processed' | 'resolved';
  attempts: number;
  nextAttemptAt: string | null;
  lastError: string | null;
  receivedAt: string;
  processedAt: string | null;
}

/** The inbox event with idempotency key `key`, found by `GET /api/inbox?key=`. */
export async function inboxEvent(
  app: RunningReference,
  key: string,
): Promise<InboxEventBody | undefined> {
  const { body } = await getJson<{ events: InboxEventBody[] }>(
    new URL(`api/inbox?key=${encodeURIComponent(key)}`, app.adminUrl).href,
  );
  return body.events.find((e) => e.key === key);
}
