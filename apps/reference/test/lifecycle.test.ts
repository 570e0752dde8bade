import { type ChildProcess, spawn } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { get } from 'node:https';
import { createServer } from 'node:net';
import { fileURLToPath } from 'node:url';
import { createBody, createEvent, deliver, deliverMany } from '@c2p/testing';
import { afterAll, describe, expect, it } from 'vitest';
import {
  credentials,
  type DeliveryBody,
  getJson,
  mainJs,
  type OrderBody,
  selfSignedCertificate,
  serviceUrl,
  startReference,
  tempDir,
  waitFor,
} from './support/reference.js';

const listeners = ['express', 'fastify', 'hono'] as const;

describe.each(['sync', 'inbox'] as const)('restart with the SQLite store in %s mode', (mode) => {
  const dir = tempDir();
  afterAll(() => dir.remove());
  const env = { C2P_STORE: `sqlite:${dir.path}/data/reference.db`, C2P_MODE: mode };
  // Inbox mode answers once an event is stored; the order is written by the worker just after.
  const paidOrder = (url: string) =>
    waitFor(
      `order at ${url} paid`,
      async () => (await getJson<OrderBody>(url)).body,
      (order) => order.state === 'paid',
    );
  const firstOutcome = mode === 'sync' ? 'processed' : 'accepted';

  it('keeps the order, does not fulfil a duplicate again, and exits 0 on SIGTERM', async () => {
    const id = crypto.randomUUID();
    const paid = createBody(createEvent({ id }));
    const followed = createBody(createEvent({ id, eventType: 'PAYMENT-LINK-FOLLOWED' }));

    const first = await startReference(env);
    expect(
      (await deliver({ url: first.webhookUrls.express, ...credentials, body: paid, attempts: 1 }))
        .delivered,
    ).toBe(true);
    if (mode === 'inbox') await paidOrder(new URL(`api/orders/${id}`, first.adminUrl).href);
    expect(await first.stop('SIGTERM')).toBe(0);
    expect(first.stdout()).toContain('"msg":"stopped"');

    const second = await startReference(env);
    try {
      const orderUrl = new URL(`api/orders/${id}`, second.adminUrl).href;
      expect(await paidOrder(orderUrl)).toMatchObject({
        state: 'paid',
        fulfilments: 1,
      });
      for (const name of listeners) {
        const again = await deliver({
          url: second.webhookUrls[name],
          ...credentials,
          body: paid,
          attempts: 1,
        });
        expect(JSON.parse(again.attempts[0]?.responseBody ?? '')).toMatchObject({
          [mode === 'sync' ? 'processed' : 'accepted']: 0,
          duplicates: 1,
        });
      }
      // Out of order: a late link-followed is recorded but does not undo the payment.
      expect(
        (
          await deliver({
            url: second.webhookUrls.hono,
            ...credentials,
            body: followed,
            attempts: 1,
          })
        ).delivered,
      ).toBe(true);
      const order = await waitFor(
        'the late link-followed recorded',
        async () => (await getJson<OrderBody>(orderUrl)).body,
        (o) => o.events.length === 2,
      );
      expect(order).toMatchObject({ state: 'paid', fulfilments: 1 });
      expect(order.events.map((e) => [e.eventType, e.effect])).toEqual([
        ['PAYMENT-COMPLETED', 'fulfilled'],
        ['PAYMENT-LINK-FOLLOWED', 'recorded'],
      ]);
      const outcomes = (
        await getJson<DeliveryBody[]>(new URL('api/events', second.adminUrl).href)
      ).body.map((d) => d.outcome);
      // The delivery log is in the database: the first process's delivery is still listed.
      expect(outcomes).toEqual([firstOutcome, 'duplicate', 'duplicate', 'duplicate', firstOutcome]);
    } finally {
      expect(await second.stop('SIGINT')).toBe(0);
    }
  });

  it('finishes in-flight deliveries when stopped under load, and loses none it answered', async () => {
    const ids = Array.from({ length: 40 }, () => crypto.randomUUID());
    const app = await startReference(env);
    let stopping: Promise<number | null> | undefined;
    const run = deliverMany({
      url: app.webhookUrls.fastify,
      ...credentials,
      bodies: ids.map((id) => createBody(createEvent({ id }))),
      concurrency: 8,
      attempts: 1,
      onAttempt: (report, delivery) => {
        if (delivery.index === 10 && report.status === 200) stopping = app.stop('SIGTERM');
      },
    });
    const result = await run;
    expect(await (stopping ?? app.stop('SIGTERM'))).toBe(0);
    const answered = result.deliveries.filter((d) => d.delivered);
    expect(answered.length).toBeGreaterThan(10);
    // Nothing in flight was cut off with a 5xx: a delivery either got its 200 or was never accepted.
    for (const d of result.deliveries) expect([200, null]).toContain(d.attempts[0]?.status);

    const again = await startReference(env);
    try {
      // Inbox mode: what was stored but not yet processed at the stop is processed now.
      for (const d of answered) {
        const id = ids[d.bodyIndex] as string;
        const order = await paidOrder(new URL(`api/orders/${id}`, again.adminUrl).href);
        expect(order).toMatchObject({ state: 'paid', fulfilments: 1 });
      }
    } finally {
      expect(await again.stop()).toBe(0);
    }
  });
});

function httpsGet(url: string, ca: string): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    get(url, { ca }, (response) => {
      let body = '';
      response.setEncoding('utf8').on('data', (c: string) => {
        body += c;
      });
      response.on('end', () => resolve({ status: response.statusCode ?? 0, body }));
    }).on('error', reject);
  });
}

describe.each([
  ['postgres', 'C2P_TEST_POSTGRES_URL'],
  ['redis', 'C2P_TEST_REDIS_URL'],
] as const)('the delivery log with the %s store', (_name, variable) => {
  it('survives a restart, and is shared by instances on one database', async () => {
    // Inbox mode (the default); Redis database 11, whose appendfsync everysec the inbox is told to trust.
    const url = new URL(serviceUrl(variable));
    if (variable === 'C2P_TEST_REDIS_URL') url.pathname = '/11';
    const env: Record<string, string> = { C2P_STORE: url.href };
    if (variable === 'C2P_TEST_REDIS_URL') env.C2P_REDIS_DURABILITY = 'trust';
    const id = crypto.randomUUID();
    const first = await startReference(env);
    const other = await startReference(env);
    try {
      expect(
        (
          await deliver({
            url: first.webhookUrls.fastify,
            ...credentials,
            body: createBody(createEvent({ id })),
            attempts: 1,
          })
        ).delivered,
      ).toBe(true);
      const listed = async (app: typeof first) =>
        (await getJson<DeliveryBody[]>(new URL('api/events', app.adminUrl).href)).body.filter((d) =>
          d.events.some((e) => e.resourceId === id),
        );
      expect(await listed(first)).toMatchObject([{ listener: 'fastify', outcome: 'accepted' }]);
      // Written in the background, so the other instance may need a moment to see it.
      let seen: DeliveryBody[] = [];
      for (let i = 0; i < 50 && seen.length === 0; i++) {
        seen = await listed(other);
        if (seen.length === 0) await new Promise((resolve) => setTimeout(resolve, 100));
      }
      expect(seen).toHaveLength(1);
      expect(await first.stop()).toBe(0);
      const again = await startReference(env);
      try {
        expect(await listed(again)).toMatchObject([
          { listener: 'fastify', outcome: 'accepted', status: 200 },
        ]);
      } finally {
        expect(await again.stop()).toBe(0);
      }
    } finally {
      await first.stop();
      expect(await other.stop()).toBe(0);
    }
  });
});

describe('HTTPS with a self-signed certificate', () => {
  const dir = tempDir();
  afterAll(() => dir.remove());

  it('serves every listener and the admin over TLS', async () => {
    const { certFile, keyFile, cert } = selfSignedCertificate(dir.path);
    const app = await startReference({
      C2P_STORE: 'memory',
      TLS_CERT_FILE: certFile,
      TLS_KEY_FILE: keyFile,
    });
    try {
      expect(app.adminUrl).toMatch(/^https:/);
      for (const name of listeners) {
        const url = app.webhookUrls[name];
        expect(url).toMatch(/^https:\/\/localhost:\d+\/webhooks\/clik2pay$/);
        const id = crypto.randomUUID();
        const result = await deliver({
          url,
          ...credentials,
          body: createBody(createEvent({ id })),
          ca: cert,
          attempts: 1,
        });
        expect(result.attempts[0]?.status, name).toBe(200);
        expect((await httpsGet(new URL('/healthz', url).href, cert)).status).toBe(200);
        const order = await httpsGet(new URL(`api/orders/${id}`, app.adminUrl).href, cert);
        expect(JSON.parse(order.body)).toMatchObject({ state: 'paid', fulfilments: 1 });
        // Plain HTTP to a TLS port is not served.
        await expect(fetch(url.replace('https:', 'http:'), { method: 'POST' })).rejects.toThrow();
      }
      // The banner's test command trusts the self-signed certificate.
      expect(app.stdout()).toContain(`--ca '${certFile}'`);
    } finally {
      expect(await app.stop()).toBe(0);
    }
  });
});

const root = fileURLToPath(new URL('../../..', import.meta.url));

interface Started {
  child: ChildProcess;
  pid: number;
  ports: Array<{ port: number; host: string | undefined }>;
  output(): string;
  exited: Promise<number | null>;
}

/** Starts the listener the way a user does, from the repository root, without rebuilding. */
async function startFromRoot(command: string, args: string[]): Promise<Started> {
  if (!existsSync(mainJs)) throw new Error(`${mainJs} is missing: build first`);
  const child = spawn(command, args, {
    cwd: root,
    env: {
      PATH: process.env.PATH ?? '',
      HOME: process.env.HOME ?? '',
      C2P_STORE: 'memory',
      C2P_WEBHOOK_USERNAME: credentials.username,
      C2P_WEBHOOK_PASSWORD: credentials.password,
      EXPRESS_PORT: '0',
      FASTIFY_PORT: '0',
      HONO_PORT: '0',
      ADMIN_PORT: '0',
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  child.stdout?.setEncoding('utf8').on('data', (c: string) => {
    out += c;
  });
  child.stderr?.setEncoding('utf8').on('data', (c: string) => {
    out += c;
  });
  const exited = new Promise<number | null>((done) =>
    child.once('exit', (code, signal) => done(code ?? (signal ? -1 : null))),
  );
  const deadline = Date.now() + 60_000;
  for (;;) {
    const line = out.split('\n').find((l) => l.includes('"msg":"ready"'));
    if (line) {
      const ready = JSON.parse(line) as {
        pid: number;
        listeners: Record<string, string>;
        admin: string;
      };
      const ports = [
        ...Object.values(ready.listeners).map((url) => ({
          port: Number(new URL(url).port),
          host: undefined,
        })),
        { port: Number(new URL(ready.admin).port), host: '127.0.0.1' },
      ];
      return { child, pid: ready.pid, ports, output: () => out, exited };
    }
    if (child.exitCode !== null || Date.now() > deadline) throw new Error(`not ready:\n${out}`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

/** Alive and not a zombie waiting for a reaper. */
function isRunning(pid: number): boolean {
  try {
    process.kill(pid, 0);
  } catch {
    return false;
  }
  try {
    return !/^\d+ \(.*\) Z/.test(readFileSync(`/proc/${pid}/stat`, 'utf8'));
  } catch {
    return false;
  }
}

async function canBind(port: number, host: string | undefined): Promise<boolean> {
  const server = createServer();
  return new Promise((resolve) => {
    server.once('error', () => resolve(false));
    server.listen(port, host, () => server.close(() => resolve(true)));
  });
}

/** Waits until the listener process is gone and every port it held can be bound again. */
async function expectStoppedAndPortsFree(started: Started, withinMs = 20_000): Promise<void> {
  const deadline = Date.now() + withinMs;
  while (isRunning(started.pid) && Date.now() < deadline) {
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  expect(isRunning(started.pid), `listener ${started.pid} still running\n${started.output()}`).toBe(
    false,
  );
  for (const { port, host } of started.ports)
    expect(await canBind(port, host), `port ${port}`).toBe(true);
}

describe('npm start under a supervisor', () => {
  it('stops the listener gracefully and frees its ports when npm itself gets SIGTERM', async () => {
    const started = await startFromRoot('npm', ['start', '--', '--no-build']);
    try {
      expect(started.child.kill('SIGTERM')).toBe(true);
      await started.exited;
      await expectStoppedAndPortsFree(started);
      expect(started.output()).toContain('"msg":"stopped"');
    } finally {
      if (isRunning(started.pid)) process.kill(started.pid, 'SIGKILL');
    }
  });

  it('stops the listener when scripts/start.mjs is killed outright (SIGKILL)', async () => {
    const started = await startFromRoot(process.execPath, ['scripts/start.mjs', '--no-build']);
    try {
      expect(started.child.kill('SIGKILL')).toBe(true);
      await started.exited;
      await expectStoppedAndPortsFree(started);
    } finally {
      if (isRunning(started.pid)) process.kill(started.pid, 'SIGKILL');
    }
  });

  it('passes SIGTERM on when run as node scripts/start.mjs, and exits 0', async () => {
    const started = await startFromRoot(process.execPath, ['scripts/start.mjs', '--no-build']);
    started.child.kill('SIGTERM');
    expect(await started.exited).toBe(0);
    await expectStoppedAndPortsFree(started);
  });
});
