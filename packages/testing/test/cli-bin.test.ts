import { spawn } from 'node:child_process';
import { accessSync, constants, existsSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { beforeAll, describe, expect, it } from 'vitest';
import { decodeBasic, listenClosingAfterEach, reply } from './support/listener.js';

// The built bin as users run it: a real process, its real exit code and streams.
// Everything else about the CLI is tested in-process in cli.test.ts.

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const manifest = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')) as {
  bin: Record<string, string>;
};
const bin = join(root, manifest.bin.c2p ?? 'missing');

interface Run {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** Spawns the built bin without blocking this process, so the test's listener can answer. */
function c2p(
  args: string[],
  options: { env?: Record<string, string>; input?: string } = {},
): Promise<Run> {
  return new Promise((resolve, reject) => {
    const env: Record<string, string | undefined> = { ...process.env };
    for (const name of ['C2P_URL', 'C2P_WEBHOOK_USERNAME', 'C2P_WEBHOOK_PASSWORD', 'C2P_CA_FILE']) {
      delete env[name];
    }
    // Run as a shell would run it: through its #! line, not `node file`.
    const child = spawn(bin, args, { env: { ...env, ...options.env }, stdio: 'pipe' });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk: Buffer) => {
      stdout += chunk.toString('utf8');
    });
    child.stderr.on('data', (chunk: Buffer) => {
      stderr += chunk.toString('utf8');
    });
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, stdout, stderr }));
    child.stdin.end(options.input ?? '');
  });
}

const listen = listenClosingAfterEach();
const fast = ['--backoff', '1', '--timeout', '2000'];

beforeAll(() => {
  if (!existsSync(bin)) {
    throw new Error(
      `${bin} is missing: build first (npm run pnpm -- exec turbo run build --filter=@c2p/testing)`,
    );
  }
  accessSync(bin, constants.X_OK);
});

describe('the built c2p bin', () => {
  it('answers --help with exit 0', async () => {
    const run = await c2p(['--help']);
    expect(run).toMatchObject({ code: 0, stderr: '' });
    expect(run.stdout).toMatch(/^c2p: send Clik2pay-style webhook deliveries/);
  });

  it('delivers with credentials from the environment and exits 0', async () => {
    const listener = await listen((_req, _n, res) => reply(res, 200));
    const run = await c2p(['send', 'payment-completed', ...fast], {
      env: { C2P_URL: listener.url, C2P_WEBHOOK_USERNAME: 'u', C2P_WEBHOOK_PASSWORD: 'p:w' },
    });
    expect(run).toMatchObject({ code: 0, stderr: '' });
    expect(decodeBasic(listener.requests[0]?.headers.authorization)).toEqual({
      username: 'u',
      password: 'p:w',
    });
    expect(run.stdout.trim().split('\n').at(-1)).toBe(
      'ok: 1/1 delivered, 0 failed (1 attempts in all)',
    );
  });

  it("replays the process's stdin and exits 1 when every attempt fails", async () => {
    const listener = await listen((_req, _n, res) => reply(res, 503));
    const run = await c2p(['replay', '-', '--url', listener.url, '--json', ...fast], {
      input: 'not json',
    });
    expect(run.code).toBe(1);
    expect(listener.requests.map((r) => r.body)).toEqual(['not json', 'not json', 'not json']);
    expect(JSON.parse(run.stdout)).toMatchObject({ ok: false, failed: 1, file: 'stdin' });
  });

  it('exits 2 with one line on stderr for bad usage', async () => {
    const run = await c2p(['send', 'payment-completed', '--bogus']);
    expect(run).toMatchObject({ code: 2, stdout: '' });
    expect(run.stderr).toMatch(/^c2p: Unknown option '--bogus'.*\n$/);
  });
});
