/**
 * The orders part of the admin page in the real browser, in inbox mode on
 * SQLite, with the order system refusing: the documented example's amount and
 * a merchant reference that tries markup, a dead fulfilment that stands out,
 * search, and the details view (history and inbox events) following the order
 * as it is replayed and fulfilled.
 */
import { existsSync, readFileSync } from 'node:fs';
import { createBody, createEvent, deliver, type documentedExample } from '@c2p/testing';
import { type Browser, chromium } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Downstream, startDownstream } from './support/downstream.js';
import {
  credentials,
  type RunningReference,
  startReference,
  tempDir,
  waitFor,
} from './support/reference.js';

const executablePath = '/usr/bin/chromium';
const fixture = JSON.parse(
  readFileSync(new URL('./fixtures/documented-example.json', import.meta.url), 'utf8'),
) as ReturnType<typeof documentedExample>;
const exampleId = fixture[0]?.resource.id as string;

describe('the orders on the admin page in headless Chromium, in inbox mode', () => {
  let app: RunningReference;
  let browser: Browser;
  let downstream: Downstream;
  const dir = tempDir();
  beforeAll(async () => {
    if (!existsSync(executablePath)) {
      throw new Error(
        `${executablePath} is missing: install Debian's chromium (apt-get install -y chromium)`,
      );
    }
    downstream = await startDownstream();
    downstream.mode = 'fail';
    app = await startReference({
      C2P_STORE: `sqlite:${dir.path}/reference.db`,
      C2P_FULFIL_URL: downstream.url,
      C2P_RETRY_MAX_ATTEMPTS: '2',
      C2P_RETRY_BASE_MS: '200',
    });
    browser = await chromium.launch({
      executablePath,
      args: ['--no-sandbox', '--disable-gpu', '--disable-background-networking', '--no-first-run'],
    });
  });
  afterAll(async () => {
    await browser?.close();
    if (app) expect(await app.stop()).toBe(0);
    await downstream?.close();
    dir.remove();
  });

  it('shows amount, reference and a dead fulfilment, searches, and follows one order in its details', async () => {
    const page = await browser.newPage();
    const errors: string[] = [];
    page.on('pageerror', (error) => errors.push(error.message));
    page.on('console', (message) => {
      if (message.type() === 'error') errors.push(message.text());
    });
    await page.goto(app.adminUrl);
    await page.locator('#orders-q').waitFor({ timeout: 10_000 });

    const hostileRef = `<img src=x onerror="window.pwned=1">INV-${crypto.randomUUID().slice(0, 8)}`;
    const other = createEvent({ amount: 1234.5, resource: { merchantTransactionId: hostileRef } });
    for (const body of [fixture, createBody(other)]) {
      expect(
        (await deliver({ url: app.webhookUrls.hono, ...credentials, body, attempts: 1 })).delivered,
      ).toBe(true);
    }

    // The documented example: its amount, no reference (it sends null), and its fulfilment dead.
    const exampleRow = page.locator('#orders tbody tr', { hasText: exampleId });
    const deadCell = exampleRow.locator('td.fulfilment.dead');
    await deadCell.waitFor({ timeout: 15_000 });
    // Payment request, merchant reference, amount, state, fulfilment, fulfilments, events, updated, button.
    expect((await exampleRow.locator('td').allTextContents()).slice(0, 7)).toEqual([
      exampleId,
      '',
      '1.00',
      'new',
      'dead',
      '0',
      '1',
    ]);
    // It stands out: white on red, and its row tinted.
    // (Read until two reads agree on the same row: the refresh replaces rows every 2 s.)
    const colours = async (): Promise<string[]> =>
      exampleRow.evaluate((tr) => [
        getComputedStyle(tr).backgroundColor,
        getComputedStyle(tr.querySelector('td.fulfilment') as Element).backgroundColor,
        getComputedStyle(tr.querySelector('td.fulfilment') as Element).color,
      ]);
    expect(
      await waitFor('the dead fulfilment styled', colours, (c) => c[0] !== '' && c[1] !== ''),
    ).toEqual(['rgb(253, 236, 238)', 'rgb(176, 0, 32)', 'rgb(255, 255, 255)']);

    // The reference that tries markup is text.
    const otherRow = page.locator('#orders tbody tr', { hasText: other.resource.id });
    await otherRow.waitFor({ timeout: 10_000 });
    expect(await otherRow.locator('td').nth(1).textContent()).toBe(hostileRef);
    expect(await otherRow.locator('td').nth(2).textContent()).toBe('1234.50');
    expect(await page.locator('#orders img').count()).toBe(0);

    // Search by that reference: exactly its order; cleared, both again.
    await page.locator('#orders-q').fill(hostileRef);
    await page.locator('#orders-q').press('Enter');
    await waitFor(
      'the search answered',
      async () => page.locator('#orders tbody tr').count(),
      (n) => n === 1,
    );
    expect(await page.locator('#orders tbody tr td').first().textContent()).toBe(other.resource.id);
    expect(await page.locator('#orders-message').textContent()).toBe('1 found.');
    await page.locator('#orders-clear').click();
    await waitFor(
      'the search cleared',
      async () => page.locator('#orders tbody tr').count(),
      (n) => n === 2,
    );

    // The details of the example: fields, no handled event yet, its inbox event dead after 2 attempts.
    await exampleRow.getByRole('button', { name: 'Details' }).click();
    await page.locator('#order-detail:not([hidden])').waitFor({ timeout: 10_000 });
    expect(await page.locator('#order-detail-id').textContent()).toBe(exampleId);
    expect(await page.locator('#order-detail-fields dd.fulfilment').textContent()).toBe('dead');
    const inboxRow = page.locator('#order-inbox tbody tr');
    await inboxRow.first().waitFor({ timeout: 10_000 });
    // Id, Event, Status, Accepted, Inbox state, Attempts, Last error.
    const inboxCells = await inboxRow.first().locator('td').allTextContents();
    expect(inboxCells.slice(1, 3)).toEqual(['PAYMENT-COMPLETED', 'PAID']);
    expect(inboxCells.slice(4, 7)).toEqual(['dead', '2', 'Error: C2P_FULFIL_URL: answered 503']);
    expect(await page.locator('#order-history tbody tr').count()).toBe(0);

    // The order system back, the event replayed: the open details follow it to done.
    downstream.mode = 'ok';
    const id = inboxCells[0] as string;
    expect(
      (await fetch(new URL(`api/inbox/${id}/replay`, app.adminUrl), { method: 'POST' })).status,
    ).toBe(200);
    await page.locator('#order-detail-fields dd.fulfilment.done').waitFor({ timeout: 15_000 });
    await page.locator('#order-history tbody tr').first().waitFor({ timeout: 10_000 });
    const history = await page
      .locator('#order-history tbody tr')
      .first()
      .locator('td')
      .allTextContents();
    // Time, Event, Resource, Status, Amount, Effect.
    expect(history.slice(1)).toEqual([
      'PAYMENT-COMPLETED',
      'payment-request',
      'PAID',
      '1.00',
      'fulfilled',
    ]);
    expect(await inboxRow.first().locator('td').nth(4).textContent()).toBe('processed');
    await page.locator('#order-detail-close').click();
    expect(await page.locator('#order-detail').isHidden()).toBe(true);

    // A fresh load renders the same rows on the server side.
    await page.reload();
    expect(
      await page
        .locator('#orders tbody tr', { hasText: exampleId })
        .locator('td.fulfilment')
        .textContent(),
    ).toBe('done');
    expect(
      await page
        .locator('#orders tbody tr', { hasText: other.resource.id })
        .locator('td')
        .nth(1)
        .textContent(),
    ).toBe(hostileRef);
    expect(await page.locator('#orders img').count()).toBe(0);
    expect(
      await page.evaluate(() => (window as unknown as { pwned?: number }).pwned),
    ).toBeUndefined();
    expect(errors).toEqual([]);
    await page.close();
  });
});
