// A README's complete example, run exactly as written in a consumer project: started
// with `node <file>`, sent a payment twice with the packed `c2p` CLI, then stopped with
// SIGTERM. It must print the handler's line once, answer the second delivery as a
// duplicate, and shut down cleanly.

import { spawn } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { createServer } from 'node:net';
import { join } from 'node:path';
import { assert, runAsync } from '../lib.mjs';

const password = 'e2e-dev-password';

function freePort() {
  return new Promise((resolve) => {
    const server = createServer().listen(0, '127.0.0.1', () => {
      const { port } = server.address();
      server.close(() => resolve(port));
    });
  });
}

/** Resolves once `pattern` appears in what `read()` answers, or rejects after `ms`. */
async function waitFor(read, pattern, ms, what) {
  const until = Date.now() + ms;
  while (Date.now() < until) {
    if (pattern.test(read())) return;
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  throw new Error(`${what}: no ${pattern} within ${ms} ms; output:\n${read()}`);
}

export async function runExample({ dir, file }) {
  const port = await freePort();
  const child = spawn(process.execPath, [file], {
    cwd: dir,
    env: { ...process.env, C2P_WEBHOOK_PASSWORD: password, PORT: String(port) },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  child.stdout.on('data', (chunk) => {
    output += chunk;
  });
  child.stderr.on('data', (chunk) => {
    output += chunk;
  });
  const exited = new Promise((resolve) =>
    child.on('close', (code, signal) => resolve({ code, signal })),
  );
  try {
    await waitFor(
      () => output,
      /listening on http:\/\/127\.0\.0\.1:\d+\/webhooks\/clik2pay/,
      20_000,
      file,
    );
    const url = `http://127.0.0.1:${port}/webhooks/clik2pay`;
    const id = randomUUID();
    const send = () =>
      runAsync(
        join(dir, 'node_modules', '.bin', 'c2p'),
        [
          'send',
          'payment-completed',
          '--id',
          id,
          '--username',
          'clik2pay',
          '--url',
          url,
          '--backoff',
          '200',
        ],
        { cwd: dir, env: { ...process.env, C2P_WEBHOOK_PASSWORD: password } },
      );
    const first = await send();
    assert(
      first.code === 0 && /200 delivered {2}\d+ ms {2}accepted 1, duplicates 0/.test(first.output),
      `c2p send exited ${first.code}:\n${first.output}`,
    );
    const paid = new RegExp(`paid: ${id}, 1 CAD, key payment-request:${id}:PAYMENT-COMPLETED:PAID`);
    await waitFor(() => output, paid, 10_000, `${file}'s handler`);
    const again = await send();
    assert(
      again.code === 0 && /200 delivered {2}\d+ ms {2}accepted 0, duplicates 1/.test(again.output),
      `the duplicate: c2p send exited ${again.code}:\n${again.output}`,
    );
    child.kill('SIGTERM');
    const { code, signal } = await Promise.race([
      exited,
      new Promise((_, reject) =>
        setTimeout(() => reject(new Error(`${file} did not stop within 10 s:\n${output}`)), 10_000),
      ),
    ]);
    assert(
      code === 0 && /stopped/.test(output),
      `${file} ended with ${code ?? signal}:\n${output}`,
    );
    assert(
      output.match(new RegExp(`paid: ${id}`, 'g'))?.length === 1,
      `the handler ran more than once:\n${output}`,
    );
    return output.trim();
  } finally {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
  }
}
