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
  it('searches by filter, counts and replays dead events in bulk, resolves one with a note, and pauses and resumes', async () => {
    const page = await browser.newPage();
    const errors: string[] = [];
    page.on('pageerror', (error) => errors.push(error.message));
    page.on('console', (message) => {
      if (message.type() === 'error') errors.push(message.text());
    });
    await page.goto(app.adminUrl);
    const message = page.locator('#inbox-message');

    // Pause and resume: the indicator follows, and the API agrees.
    await page.getByRole('button', { name: 'Pause' }).click();
    await page.locator('#inbox-paused[data-paused="true"]').waitFor({ timeout: 5_000 });
    expect(await page.locator('#inbox-paused').textContent()).toMatch(/paused/);
    const listing = async () =>
      (await getJson<{ paused: boolean }>(new URL('api/inbox?limit=1', app.adminUrl).href)).body;
    expect((await listing()).paused).toBe(true);
    await page.getByRole('button', { name: 'Resume' }).click();
    await page.locator('#inbox-paused[data-paused="false"]').waitFor({ timeout: 5_000 });
    expect((await listing()).paused).toBe(false);

    // Two dead events, one of them with markup for an id.
    downstream.mode = 'fail';
    const ids = [`<b id="bold">x</b>${crypto.randomUUID()}`, crypto.randomUUID()];
    for (const id of ids) {
      await deliver({
        url: app.webhookUrls.express,
        ...credentials,
        body: createBody(createEvent({ id })),
        attempts: 1,
      });
    }
    for (const id of ids) {
      const key = `payment-request:${id}:PAYMENT-COMPLETED:PAID`;
      const byKey = new URL(`api/inbox?key=${encodeURIComponent(key)}`, app.adminUrl).href;
      const retrying = await waitFor(
        `${id} retrying`,
        async () => (await getJson<{ events: { id: string; state: string }[] }>(byKey)).body,
        (b) => b.events[0]?.state === 'retrying',
      );
      await fetch(new URL(`api/inbox/${retrying.events[0]?.id}/retry-now`, app.adminUrl), {
        method: 'POST',
      });
      await waitFor(
        `${id} dead`,
        async () => (await getJson<{ events: { state: string }[] }>(byKey)).body,
        (b) => b.events[0]?.state === 'dead',
      );
    }

    // Search dead events: both listed, escaped, each with Resolve.
    await page.locator('#inbox-filters select[name="state"]').selectOption('dead');
    await page.getByRole('button', { name: 'Search the inbox', exact: true }).click();
    const rows = page.locator('#inbox-search tbody tr');
    await waitFor(
      'two dead rows',
      () => rows.count(),
      (n) => n === 2,
    );
    expect(await page.locator('#bold').count()).toBe(0);
    expect(await rows.first().locator('td').nth(1).textContent()).toBe('dead');

    // The dry run counts them; a resolve without a note is refused on the page.
    await page.getByRole('button', { name: 'Count dead matching' }).click();
    await waitFor(
      'the dry-run count',
      () => message.textContent(),
      (t) => /^2 dead/.test(t ?? ''),
    );
    await rows.first().getByRole('button', { name: 'Resolve' }).click();
    expect(await message.textContent()).toMatch(/note/);
    await page.locator('#inbox-note').fill('refunded by hand, ticket 42');
    await rows.first().getByRole('button', { name: 'Resolve' }).click();
    await waitFor(
      'resolved',
      () => message.textContent(),
      (t) => /resolved/.test(t ?? ''),
    );
    await waitFor(
      'one dead row left',
      () => rows.count(),
      (n) => n === 1,
    );
    // The search run again after the action leaves its confirmation shown.
    expect(await message.textContent()).toMatch(/: resolved\.$/);

    // The order system is back: bulk replay replays the one left, and it is processed.
    downstream.mode = 'ok';
    await page.getByRole('button', { name: 'Replay dead matching' }).click();
    await waitFor(
      'the bulk replay',
      () => message.textContent(),
      (t) => /Replayed 1 dead/.test(t ?? ''),
    );
    const counts = async () =>
      (await getJson<{ counts: Record<string, number> }>(new URL('api/inbox', app.adminUrl).href))
        .body.counts;
    const settled = await waitFor('dead 0', counts, (c) => c.dead === 0 && c.pending === 0);
    expect(settled).toMatchObject({ resolved: 1, dead: 0 });
    await waitFor(
      'the page counting the resolved event',
      async () =>
        Number(await page.locator('#inbox-counts li[data-state="resolved"] .n').textContent()),
      (n) => n === 1,
    );
    expect(errors).toEqual([]);
    await page.close();
  });
});
