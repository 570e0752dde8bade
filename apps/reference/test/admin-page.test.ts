import { existsSync } from 'node:fs';
import { createBody, createEvent, deliver } from '@c2p/testing';
import { type Browser, chromium } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { credentials, type RunningReference, startReference } from './support/reference.js';

const executablePath = '/usr/bin/chromium';

describe('the admin page in headless Chromium', () => {
  let app: RunningReference;
  let browser: Browser;
  beforeAll(async () => {
    if (!existsSync(executablePath)) {
      throw new Error(
        `${executablePath} is missing: install Debian's chromium (apt-get install -y chromium)`,
      );
    }
    app = await startReference({ C2P_STORE: 'memory' });
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
  });

  it('shows deliveries and orders as they arrive, escaping what it received', async () => {
    const page = await browser.newPage();
    const errors: string[] = [];
    page.on('pageerror', (error) => errors.push(error.message));
    page.on('console', (message) => {
      if (message.type() === 'error') errors.push(message.text());
    });
    await page.goto(app.adminUrl);
    await expect(page.locator('h1')).toBeDefined();
    expect(await page.locator('#orders tbody tr').count()).toBe(0);

    // Delivered after the page loaded: only its own refresh can show them.
    const paidId = crypto.randomUUID();
    const hostileId = `<img src=x onerror="window.pwned=1">${crypto.randomUUID()}`;
    await deliver({
      url: app.webhookUrls.express,
      ...credentials,
      body: createBody(createEvent({ id: paidId })),
    });
    await deliver({
      url: app.webhookUrls.fastify,
      ...credentials,
      body: createBody(createEvent({ id: paidId })),
    });
    await deliver({
      url: app.webhookUrls.hono,
      ...credentials,
      body: createBody(createEvent({ id: hostileId, eventType: 'PAYMENT-FAILED' })),
    });
    await deliver({
      url: app.webhookUrls.hono,
      username: 'intruder',
      password: 'nope',
      body: '{}',
      attempts: 1,
    });

    const paidRow = page.locator('#orders tbody tr', { hasText: paidId });
    await paidRow.waitFor({ timeout: 10_000 });
    expect(await paidRow.locator('td').allTextContents()).toEqual([
      paidId,
      'paid',
      '1',
      '1',
      expect.any(String),
    ]);
    await page.locator('#deliveries tbody tr').nth(3).waitFor({ timeout: 10_000 });
    const outcomes = await page.locator('#deliveries tbody tr td.outcome').allTextContents();
    expect(outcomes.slice(0, 4)).toEqual(['rejected', 'processed', 'duplicate', 'processed']);
    expect(await page.locator('#deliveries tbody tr').first().textContent()).toContain(
      'UNAUTHORIZED',
    );

    // The hostile id is shown as text, never run as markup.
    const hostileRow = page.locator('#orders tbody tr', { hasText: hostileId });
    await hostileRow.waitFor({ timeout: 10_000 });
    expect(await hostileRow.locator('td').nth(1).textContent()).toBe('failed');
    expect(
      await page.evaluate(() => (window as unknown as { pwned?: number }).pwned),
    ).toBeUndefined();
    expect(await page.locator('#orders img').count()).toBe(0);

    // A fresh load renders the same on the server side, escaped too.
    await page.reload();
    expect(await page.locator('#orders tbody tr', { hasText: hostileId }).count()).toBe(1);
    expect(await page.locator('#orders img').count()).toBe(0);
    expect(errors).toEqual([]);
    await page.close();
  });
});
