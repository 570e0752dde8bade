import { type ChildProcess, spawn } from 'node:child_process';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '../../../../..');
/** The `c2p` CLI as built: `node packages/testing/dist/cli.js`. */
export const c2pCli = join(root, 'packages/testing/dist/cli.js');

/** The API credentials the test's `c2p mock` accepts, and the app is given. */
export const apiCredentials = {
  username: 'merchant-api-user',
  password: 'merchant-api-password',
  apiKey: 'merchant-api-key-1',
};

/** A `c2p mock` running as a process of its own. */
export interface MockProcess {
  url: string;
  /** The app's settings that point at it. */
  apiEnv: Record<string, string>;
  output(): string;
  stop(): Promise<void>;
}

/**
 * Starts `c2p mock --port 0` as a user runs it, delivering webhooks to
 * `webhookUrl` with `webhookCredentials`, and waits for the line naming its URL.
 */
export async function startMockProcess(
  webhookUrl: string,
  webhookCredentials: { username: string; password: string },
): Promise<MockProcess> {
  const args = [
    c2pCli,
    'mock',
    '--port',
    '0',
    '--webhook-url',
    webhookUrl,
    '--api-username',
    apiCredentials.username,
    '--api-password',
    apiCredentials.password,
    '--api-key',
    apiCredentials.apiKey,
  ];
  const child: ChildProcess = spawn(process.execPath, args, {
    env: {
      PATH: process.env.PATH ?? '',
      C2P_WEBHOOK_USERNAME: webhookCredentials.username,
      C2P_WEBHOOK_PASSWORD: webhookCredentials.password,
    },
    stdio: 'pipe',
  });
  let out = '';
  child.stdout?.setEncoding('utf8').on('data', (chunk: string) => {
    out += chunk;
  });
  child.stderr?.setEncoding('utf8').on('data', (chunk: string) => {
    out += chunk;
  });
  const exited = new Promise<void>((done) => child.once('exit', () => done()));
  const url = await new Promise<string>((done, fail) => {
    const timer = setTimeout(() => fail(new Error(`c2p mock not up after 15 s\n${out}`)), 15_000);
    const look = (): void => {
      const found = /c2p mock: Clik2pay on (http:\/\/127\.0\.0\.1:\d+)/.exec(out)?.[1];
      if (found === undefined) return;
      clearTimeout(timer);
      done(found);
    };
    child.stdout?.on('data', look);
    void exited.then(() => fail(new Error(`c2p mock exited\n${out}`)));
  });
  return {
    url,
    apiEnv: {
      C2P_API_URL: `${url}/open/v1`,
      C2P_API_TOKEN_URL: `${url}/oauth2/token`,
      C2P_API_USERNAME: apiCredentials.username,
      C2P_API_PASSWORD: apiCredentials.password,
      C2P_API_KEY: apiCredentials.apiKey,
    },
    output: () => out,
    async stop() {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM');
      await exited;
    },
  };
}

/** A payment request created at the mock, as a merchant's checkout would. */
export async function createPaymentRequest(
  mockUrl: string,
  fields: { amount: number; merchantTransactionId: string },
): Promise<string> {
  const auth = Buffer.from(`${apiCredentials.username}:${apiCredentials.password}`);
  const token = await fetch(`${mockUrl}/oauth2/token`, {
    method: 'POST',
    headers: {
      authorization: `Basic ${auth.toString('base64')}`,
      'content-type': 'application/x-www-form-urlencoded',
    },
    body: 'grant_type=client_credentials&scope=payment_request/all',
  });
  const { access_token: accessToken } = (await token.json()) as { access_token: string };
  const created = await fetch(`${mockUrl}/open/v1/payment-requests`, {
    method: 'POST',
    headers: {
      authorization: `Bearer ${accessToken}`,
      'x-api-key': apiCredentials.apiKey,
      'content-type': 'application/json',
    },
    body: JSON.stringify({
      ...fields,
      type: 'ECOMM',
      deliveryMode: 'NONE',
      payer: { name: 'Ada' },
    }),
  });
  if (created.status !== 201 && created.status !== 200) {
    throw new Error(`create: ${created.status} ${await created.text()}`);
  }
  return ((await created.json()) as { id: string }).id;
}

/** `POST /_mock/payment-requests/{id}/{action}`: answers what the mock did and delivered. */
export async function settleAtMock(
  mockUrl: string,
  id: string,
  action: 'pay' | 'fail',
  control: { dropWebhook?: boolean } = {},
): Promise<{ event: unknown; webhook: { delivered: boolean; attempts: unknown[] } | string }> {
  const response = await fetch(`${mockUrl}/_mock/payment-requests/${id}/${action}`, {
    method: 'POST',
    body: JSON.stringify(control),
  });
  if (response.status !== 200) throw new Error(`${action}: ${response.status}`);
  return (await response.json()) as {
    event: unknown;
    webhook: { delivered: boolean; attempts: unknown[] } | string;
  };
}

/** `POST /api/orders`: registers an expected payment with the app. */
export async function registerOrder(
  adminUrl: string,
  order: { paymentRequestId: string; amount: number; merchantTransactionId: string },
): Promise<number> {
  const response = await fetch(new URL('api/orders', adminUrl), {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify(order),
  });
  await response.arrayBuffer();
  return response.status;
}
