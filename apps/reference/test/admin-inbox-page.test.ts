import { existsSync } from 'node:fs';
import { createBody, createEvent, deliver } from '@c2p/testing';
import { type Browser, chromium } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Downstream, startDownstream } from './support/downstream.js';
import {
  credentials,
  getJson,
  type OrderBody,
  type RunningReference,
  startReference,
  waitFor,
} from './support/reference.js';

const executablePath = '/usr/bin/chromium';

describe('the admin page in headless Chromium, in inbox mode', () => {
  let app: RunningReference;
  let browser: Browser;
  let downstream: Downstream;
  beforeAll(async () => {
    if (!existsSync(executablePath)) {
      throw new Error(
        `${executablePath} is missing: install Debian's chromium (apt-get install -y chromium)`,
      );
    }
    downstream = await startDownstream();
    // Two attempts in all, the retry ten minutes later: only the page's buttons move the event on.
    app = await startReference({
      C2P_STORE: 'memory',
      C2P_FULFIL_URL: downstream.url,
      C2P_RETRY_MAX_ATTEMPTS: '2',
      C2P_RETRY_BASE_MS: '600000',
    });
    browser = await chromium.launch({
      executablePath,
      args: [
        '--no-sandbox',
        '--disable-gpu',
        '--disable-background-networking',
        '--disable-component-update',
        '--disable-sync',
        '--no-first-run',
      ],
    });
  });
  afterAll(async () => {
    await browser?.close();
    if (app) expect(await app.stop()).toBe(0);
    await downstream?.close();
  });

  it('shows the counts and the retrying and dead events, escaped, and its buttons retry now and replay', async () => {
    const page = await browser.newPage();
    const errors: string[] = [];
    page.on('pageerror', (error) => errors.push(error.message));
    page.on('console', (message) => {
      if (message.type() === 'error') errors.push(message.text());
    });
    await page.goto(app.adminUrl);
    await page.locator('#inbox-counts').waitFor({ timeout: 10_000 });
    const count = async (state: string) =>
      Number(
        await page.locator(`#inbox-counts li[data-state="${state}"] .n`).textContent({
          timeout: 5_000,
        }),
      );
    expect(await count('dead')).toBe(0);
    expect(await count('retrying')).toBe(0);

    // A payment whose order system is down, for an id that tries markup and a bidi override.
    const id = `<img src=x onerror="window.pwned=1">\u202E${crypto.randomUUID()}`;
    const shown = `payment-request:${id.replace('\u202E', '\\u202E')}`;
    downstream.mode = 'fail';
    expect(
      (
        await deliver({
          url: app.webhookUrls.express,
          ...credentials,
          body: createBody(createEvent({ id })),
          attempts: 1,
        })
      ).delivered,
    ).toBe(true);

    // Its first attempt fails: the page's refresh lists it under Retrying.
    const retryingRow = page.locator('#inbox-retrying tbody tr', { hasText: shown });
    await retryingRow.waitFor({ timeout: 10_000 });
    const cells = await retryingRow.locator('td').allTextContents();
    // Id, Event, Resource, Attempts, Last error, Next attempt, the button.
    expect(cells.slice(1, 5)).toEqual([
      'PAYMENT-COMPLETED',
      shown,
      '1',
      'Error: C2P_FULFIL_URL: answered 503',
    ]);
    expect(await count('retrying')).toBe(1);
    expect(await page.locator('#inbox img').count()).toBe(0);

    // Retry now: the second and last attempt fails too, so it is dead.
    await retryingRow.getByRole('button', { name: 'Retry now' }).click();
    const deadRow = page.locator('#inbox-dead tbody tr', { hasText: shown });
    await deadRow.waitFor({ timeout: 10_000 });
    expect(await deadRow.locator('td').nth(3).textContent()).toBe('2');
    await waitFor(
      'the counts refreshed',
      async () => [await count('dead'), await count('retrying')],
      ([dead, retrying]) => dead === 1 && retrying === 0,
    );
    expect(await page.locator('#inbox-message').textContent()).toMatch(/retried now/);

    // The order system is back: Replay processes it, once.
    downstream.mode = 'ok';
    await deadRow.getByRole('button', { name: 'Replay' }).click();
    await waitFor(
      'the replayed event processed',
      async () => [await count('dead'), await count('processed')],
      ([dead, processed]) => dead === 0 && processed === 1,
    );
    expect(await page.locator('#inbox-dead tbody tr').count()).toBe(0);
    expect(await page.locator('#inbox-message').textContent()).toMatch(/replayed/);
    const order = await getJson<OrderBody>(
      new URL(`api/orders/${encodeURIComponent(id)}`, app.adminUrl).href,
    );
    expect(order.body).toMatchObject({ state: 'paid', fulfilments: 1 });
    // The key as a header can only be ASCII: percent-encoded, the same at every attempt.
    const key = encodeURIComponent(`payment-request:${id}:PAYMENT-COMPLETED:PAID`);
    expect(downstream.calls.map((c) => c.key)).toEqual([key, key, key]);
    expect(downstream.fulfilled()).toEqual([key]);

    // A fresh load renders the same on the server side: counts, no markup, the escape.
    await page.reload();
    expect(await count('processed')).toBe(1);
    const html = await (await fetch(app.adminUrl)).text();
    expect(html).toContain('<section id="inbox">');
    expect(html).not.toContain('\u202E');
    expect(await page.evaluate(() => (window as unknown as { pwned?: number }).pwned)).toBe(
      undefined,
    );
    expect(errors).toEqual([]);
    await page.close();
  });
});
