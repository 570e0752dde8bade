import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { expect, it } from 'vitest';
import { decodeBasic, listenClosingAfterEach, reply } from './support/listener.js';

// `c2p mock` as users run it: the built bin, a real process on a real port, stopped by Ctrl-C.

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const manifest = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')) as {
  bin: Record<string, string>;
};
const bin = join(root, manifest.bin.c2p ?? 'missing');
const listen = listenClosingAfterEach();

it('c2p mock: token, create, pay with its webhook delivered, read PAID; Ctrl-C stops it', async () => {
  const listener = await listen((_req, _n, res) => reply(res, 200));
  const child = spawn(bin, ['mock', '--port', '0', '--webhook-url', listener.url], {
    env: { ...process.env, C2P_WEBHOOK_USERNAME: 'clik2pay', C2P_WEBHOOK_PASSWORD: 'pw' },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  child.stdout.on('data', (chunk: Buffer) => {
    output += chunk.toString('utf8');
  });
  child.stderr.on('data', (chunk: Buffer) => {
    output += chunk.toString('utf8');
  });
  const exited = new Promise<number | string | null>((resolve) =>
    child.on('close', (code, signal) => resolve(code ?? signal)),
  );
  try {
    await expect
      .poll(() => /on (http:\/\/127\.0\.0\.1:\d+) /.exec(output)?.[1], { timeout: 10_000 })
      .toBeTruthy();
    const url = /on (http:\/\/127\.0\.0\.1:\d+) /.exec(output)?.[1] as string;
    const tokenAnswer = await fetch(`${url}/oauth2/token`, {
      method: 'POST',
      headers: {
        authorization: `Basic ${Buffer.from('me:secret').toString('base64')}`,
        'content-type': 'application/x-www-form-urlencoded',
      },
      body: 'grant_type=client_credentials&scope=payment_request/all',
    });
    const { access_token } = (await tokenAnswer.json()) as { access_token: string };
    const headers = { authorization: `Bearer ${access_token}`, 'x-api-key': 'anything' };
    const created = await fetch(`${url}/open/v1/payment-requests`, {
      method: 'POST',
      headers: { ...headers, 'content-type': 'application/json' },
      body: JSON.stringify({
        amount: 3,
        merchantTransactionId: 'bin-test-1',
        type: 'FLEX',
        deliveryMode: 'SMS',
        payer: {},
      }),
    });
    const { id } = (await created.json()) as { id: string };
    expect(
      (await fetch(`${url}/_mock/payment-requests/${id}/pay`, { method: 'POST' })).status,
    ).toBe(200);
    expect(listener.requests).toHaveLength(1);
    expect(decodeBasic(listener.requests[0]?.headers.authorization)).toEqual({
      username: 'clik2pay',
      password: 'pw',
    });
    const read = await fetch(`${url}/open/v1/payment-requests/${id}`, { headers });
    expect(await read.json()).toMatchObject({ id, status: 'PAID', amount: 3 });
    expect(output).toContain(`POST /_mock/payment-requests/${id}/pay 200`);
  } finally {
    child.kill('SIGINT');
  }
  // Node's default for SIGINT: the process ends by that signal (there is nothing to flush).
  expect(await exited).toBe('SIGINT');
}, 20_000);
