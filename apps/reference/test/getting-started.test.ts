/**
 * The README's "Getting started with a local Clik2pay", run as written: its
 * three shell blocks in bash from the repository root (the mock, the listener
 * through `npm start -- --no-build`, then the checkout's curl calls). Only the
 * ports are changed (4000, 3001, 3000 to free ones) so it runs beside other
 * listeners, and the store goes to a temporary folder (`C2P_STORE` in the
 * environment, which the blocks do not set).
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { freePort, sleep } from './faults/support/faults.js';
import { tempDir } from './support/reference.js';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '../../..');
const readme = readFileSync(resolve(root, 'apps/reference/README.md'), 'utf8');

/** The ```sh blocks between the getting-started markers. */
function blocks(): string[] {
  const start = readme.indexOf('<!-- getting-started: begin -->');
  const end = readme.indexOf('<!-- getting-started: end -->');
  expect(start, 'the README marks its getting-started section').toBeGreaterThan(-1);
  const section = readme.slice(start, end);
  return [...section.matchAll(/```sh\n([\s\S]*?)```/g)].map((m) => m[1] as string);
}

interface Shell {
  child: ChildProcess;
  output(): string;
  exited: Promise<number | null>;
}

const started: Shell[] = [];
const dir = tempDir();
afterAll(async () => {
  for (const shell of started) {
    // Each block runs in a process group of its own: end that group, ours only.
    if (shell.child.exitCode === null && shell.child.pid) {
      try {
        process.kill(-shell.child.pid, 'SIGTERM');
      } catch {
        // already gone
      }
      await Promise.race([shell.exited, sleep(10_000)]);
    }
  }
  dir.remove();
});

function run(script: string, env: Record<string, string>): Shell {
  const child = spawn('bash', ['-e', '-c', script], {
    cwd: root,
    env: { ...process.env, ...env },
    stdio: 'pipe',
    detached: true,
  });
  let out = '';
  child.stdout?.setEncoding('utf8').on('data', (chunk: string) => {
    out += chunk;
  });
  child.stderr?.setEncoding('utf8').on('data', (chunk: string) => {
    out += chunk;
  });
  const exited = new Promise<number | null>((done) => child.once('exit', (code) => done(code)));
  const shell = { child, output: () => out, exited };
  started.push(shell);
  return shell;
}

async function until(what: string, ok: () => Promise<boolean>, shells: Shell[]): Promise<void> {
  for (const deadline = Date.now() + 60_000; Date.now() < deadline; await sleep(250)) {
    if (await ok().catch(() => false)) return;
  }
  throw new Error(`${what}: not within 60 s\n${shells.map((s) => s.output()).join('\n---\n')}`);
}

describe("the README's getting started with c2p mock", () => {
  it('creates a payment request, pays it and sees the order fulfilled, as written', async () => {
    const [mockBlock, listenerBlock, checkoutBlock] = blocks();
    expect([mockBlock, listenerBlock, checkoutBlock].every(Boolean)).toBe(true);
    const ports = { mock: await freePort(), express: await freePort(), admin: await freePort() };
    const localise = (text: string): string =>
      text
        .replaceAll('127.0.0.1:4000', `127.0.0.1:${ports.mock}`)
        .replaceAll('127.0.0.1:3001', `127.0.0.1:${ports.express}`)
        .replaceAll('127.0.0.1:3000', `127.0.0.1:${ports.admin}`);
    const env = {
      C2P_STORE: `sqlite:${dir.path}/reference.db`,
      EXPRESS_PORT: String(ports.express),
      ADMIN_PORT: String(ports.admin),
      FASTIFY_PORT: '0',
      HONO_PORT: '0',
    };
    const mock = run(
      localise(mockBlock as string).replace(
        'mock --webhook-url',
        `mock --port ${ports.mock} --webhook-url`,
      ),
      env,
    );
    const listener = run(localise(listenerBlock as string), env);
    await until(
      'c2p mock up',
      async () => (await fetch(`http://127.0.0.1:${ports.mock}/_mock/stats`)).ok,
      [mock],
    );
    await until(
      'listener up',
      async () => (await fetch(`http://127.0.0.1:${ports.admin}/healthz`)).ok,
      [listener],
    );

    const checkout = run(localise(checkoutBlock as string), env);
    const code = await checkout.exited;
    const lines = checkout.output().trim().split('\n');
    console.log(`[getting-started] the checkout block exited ${code}:\n${lines.join('\n')}`);
    expect(code).toBe(0);
    const registered = JSON.parse(lines[0] as string) as { id: string; state: string };
    expect(registered.state).toBe('awaiting-payment');
    expect(JSON.parse(lines[1] as string)).toMatchObject({
      paymentRequest: { id: registered.id, status: 'PAID' },
      webhook: { delivered: true },
    });
    // What the last command printed; polled again only if the worker was slower than `sleep 1`.
    let order = JSON.parse(lines[2] as string) as { state: string; fulfilments: number };
    const url = `http://127.0.0.1:${ports.admin}/api/orders/${registered.id}`;
    for (let i = 0; i < 40 && order.fulfilments === 0; i++, await sleep(250)) {
      order = (await (await fetch(url)).json()) as typeof order;
    }
    expect(order).toMatchObject({ state: 'paid', fulfilments: 1 });
    // The banner says the reconciler runs, and where it reads.
    expect(listener.output()).toContain(
      `api      reconciles every 60 s, expected payments unsettled after 300 s, from http://127.0.0.1:${ports.mock}/open/v1`,
    );
  });
});
