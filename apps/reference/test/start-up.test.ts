import { statSync } from 'node:fs';
import { join } from 'node:path';
import { createBody, createEvent, deliver } from '@c2p/testing';
import { afterAll, describe, expect, it } from 'vitest';
import { type RunningReference, startReference, tempDir, waitFor } from './support/reference.js';

const dir = tempDir();
afterAll(() => dir.remove());

const bannerEnd = /Print this again: kill -USR2 \d+\n$/;

/** Waits for the banner that follows the `ready` line, and answers the output from that line on. */
async function afterReady(app: RunningReference, banners = 1): Promise<string> {
  await waitFor(
    `${banners} banner(s)`,
    async () => app.stdout().split('Print this again').length - 1,
    (n) => n >= banners,
  );
  const out = app.stdout();
  return out.slice(out.indexOf('"msg":"ready"'));
}

/** No credentials set: development generates them (the test harness sets them otherwise). */
const generated = { C2P_WEBHOOK_USERNAME: '', C2P_WEBHOOK_PASSWORD: '' };

describe('the start-up banner', () => {
  it('comes after the start-up log lines, names the fulfilment URL, and comes again on SIGUSR2', async () => {
    const app = await startReference({
      C2P_STORE: 'memory',
      C2P_FULFIL_URL: 'http://user:secret@127.0.0.1:4191/orders',
    });
    try {
      const first = await afterReady(app);
      // Everything after the ready line is the banner: no log line scrolls it away.
      const banner = first.slice(first.indexOf('\n') + 1);
      expect(banner).toMatch(/^c2p reference listener \(development\)\n/);
      expect(banner).toMatch(bannerEnd);
      expect(banner).not.toContain('{"level"');
      expect(banner).toContain('  fulfil   POST http://user:***@127.0.0.1:4191/orders');
      expect(banner).not.toContain('secret');
      app.child.kill('SIGUSR2');
      const both = await afterReady(app, 2);
      expect(both.split('c2p reference listener (development)')).toHaveLength(3);
      expect(both).toMatch(bannerEnd);
    } finally {
      expect(await app.stop()).toBe(0);
    }
  });
});

describe('generated development credentials', () => {
  it('are kept in the data folder (mode 0600) and reused at the next start, so a copied command still works', async () => {
    const store = `sqlite:${join(dir.path, 'data', 'reference.db')}`;
    const passwords: string[] = [];
    for (const run of [1, 2]) {
      const app = await startReference({ C2P_STORE: store, ...generated });
      try {
        const banner = await afterReady(app);
        const password = /^ {2}password (\S+)$/m.exec(banner)?.[1];
        expect(password, app.stdout()).toBeDefined();
        expect(banner).toContain(join(dir.path, 'data', 'development-credentials.json'));
        passwords.push(password as string);
        const sent = await deliver({
          url: app.webhookUrls.express,
          username: 'clik2pay',
          password: passwords[0] as string,
          body: createBody(createEvent()),
          attempts: 1,
        });
        expect(sent.attempts[0]?.status, `run ${run}`).toBe(200);
      } finally {
        expect(await app.stop()).toBe(0);
      }
    }
    expect(passwords[1]).toBe(passwords[0]);
    const mode = statSync(join(dir.path, 'data', 'development-credentials.json')).mode & 0o777;
    expect(mode.toString(8)).toBe('600');
  });
});
