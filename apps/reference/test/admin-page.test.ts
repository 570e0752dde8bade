import { existsSync } from 'node:fs';
import { createBody, createEvent, deliver } from '@c2p/testing';
import { type Browser, chromium } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { credentials, type RunningReference, startReference } from './support/reference.js';

const executablePath = '/usr/bin/chromium';

describe('the admin page in headless Chromium, in sync mode', () => {
  let app: RunningReference;
  let browser: Browser;
  beforeAll(async () => {
    if (!existsSync(executablePath)) {
      throw new Error(
        `${executablePath} is missing: install Debian's chromium (apt-get install -y chromium)`,
      );
    }
    app = await startReference({ C2P_STORE: 'memory', C2P_MODE: 'sync' });
    browser = await chromium.launch({
      executablePath,
      args: [
        '--no-sandbox',
        '--disable-gpu',
        '--disable-background-networking',
        '--disable-component-update',
        '--disable-sync',
        '--no-first-run',
        // A stand-in for a rebinding DNS server: the attacker's name resolves to loopback.
        '--host-resolver-rules=MAP rebind.attacker.test 127.0.0.1',
      ],
    });
  });
  afterAll(async () => {
    await browser?.close();
    if (app) expect(await app.stop()).toBe(0);
  });

  it('shows deliveries and orders as they arrive, escaping what it received', async () => {
    // Far from UTC, so a header time in the browser's own zone would show.
    const page = await browser.newPage({ timezoneId: 'America/Toronto' });
    const errors: string[] = [];
    page.on('pageerror', (error) => errors.push(error.message));
    page.on('console', (message) => {
      if (message.type() === 'error') errors.push(message.text());
    });
    await page.goto(app.adminUrl);
    const heading = page.locator('h1');
    await heading.waitFor({ timeout: 10_000 });
    expect(await heading.textContent()).toBe('c2p reference');
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
    // Over IPv4 to a dual-stack listener, whose socket reports ::ffff:127.0.0.1.
    const hono = new URL(app.webhookUrls.hono);
    hono.hostname = '127.0.0.1';
    await deliver({
      url: hono.href,
      username: 'intruder',
      password: 'nope',
      body: '{}',
      attempts: 1,
    });

    const paidRow = page.locator('#orders tbody tr', { hasText: paidId });
    await paidRow.waitFor({ timeout: 10_000 });
    // Payment request, merchant reference, amount, state, fulfilment, fulfilments, events, updated, button.
    expect(await paidRow.locator('td').allTextContents()).toEqual([
      paidId,
      expect.any(String),
      expect.stringMatching(/^\d+\.\d\d$/),
      'paid',
      'done',
      '1',
      '1',
      expect.any(String),
      'Details',
    ]);
    await page.locator('#deliveries tbody tr').nth(3).waitFor({ timeout: 10_000 });
    const outcomes = await page.locator('#deliveries tbody tr td.outcome').allTextContents();
    expect(outcomes.slice(0, 4)).toEqual(['rejected', 'processed', 'duplicate', 'processed']);
    expect(await page.locator('#deliveries tbody tr').first().textContent()).toContain(
      'UNAUTHORIZED',
    );
    // Time, Listener, HTTP, Outcome, Code, Refused at, Client IP, Events.
    const rows = await Promise.all(
      [0, 1, 2, 3].map((n) =>
        page.locator('#deliveries tbody tr').nth(n).locator('td').allTextContents(),
      ),
    );
    expect(rows.map((cells) => cells[5])).toEqual(['auth', '', '', '']);
    expect(rows[0]?.[6]).toBe('127.0.0.1');
    for (const cells of rows) expect(cells[6]).not.toMatch(/ffff/i);
    const updated = /^Updated (\d\d):(\d\d):(\d\d) UTC; refreshes every 2 s\.$/.exec(
      (await page.locator('#status').textContent()) ?? '',
    );
    expect(updated).not.toBeNull();
    const [hours, minutes, seconds] = (updated ?? []).slice(1).map(Number);
    const shown = ((hours ?? 0) * 60 + (minutes ?? 0)) * 60 + (seconds ?? 0);
    const now = Math.floor((Date.now() / 1000) % 86_400);
    expect(Math.min(Math.abs(now - shown), 86_400 - Math.abs(now - shown))).toBeLessThan(60);

    // The hostile id is shown as text, never run as markup.
    const hostileRow = page.locator('#orders tbody tr', { hasText: hostileId });
    await hostileRow.waitFor({ timeout: 10_000 });
    expect(await hostileRow.locator('td').nth(3).textContent()).toBe('failed');
    expect(
      await page.evaluate(() => (window as unknown as { pwned?: number }).pwned),
    ).toBeUndefined();
    expect(await page.locator('#orders img').count()).toBe(0);

    // Characters that spoof what is shown (a right-to-left override, a line
    // separator, a zero-width space) are shown as their escapes, on refresh and on load.
    // (NUL and other controls never get this far: core refuses them in an id with a 422.)
    const spoofId = `inv\u202Egpj.exe\u2028line\u200Bzw\\${crypto.randomUUID()}`;
    const shownId = spoofId
      .replace('\\', '\\\\')
      .replace('\u202E', '\\u202E')
      .replace('\u2028', '\\u2028')
      .replace('\u200B', '\\u200B');
    expect(
      (
        await deliver({
          url: app.webhookUrls.express,
          ...credentials,
          body: createBody(createEvent({ id: spoofId, eventType: 'PAYMENT-LINK-FOLLOWED' })),
          attempts: 1,
        })
      ).delivered,
    ).toBe(true);
    const spoofRow = page.locator('#orders tbody tr', { hasText: shownId });
    await spoofRow.waitFor({ timeout: 10_000 });
    expect(await spoofRow.locator('td').first().textContent()).toBe(shownId);
    expect(
      await page.locator('#deliveries tbody tr').first().locator('td').last().textContent(),
    ).toBe(`PAYMENT-LINK-FOLLOWED ${shownId} ACTIVE \u2192 processed`);

    // A fresh load renders the same on the server side, escaped too.
    await page.reload();
    expect(await page.locator('#orders tbody tr', { hasText: hostileId }).count()).toBe(1);
    expect(await page.locator('#orders img').count()).toBe(0);
    expect(
      await page
        .locator('#orders tbody tr', { hasText: shownId })
        .locator('td')
        .first()
        .textContent(),
    ).toBe(shownId);
    const body = (await page.locator('body').textContent()) ?? '';
    const html = await (await fetch(app.adminUrl)).text();
    for (const raw of ['\u202E', '\u2028', '\u200B']) {
      expect(body.includes(raw), JSON.stringify(raw)).toBe(false);
      expect(html.includes(raw), JSON.stringify(raw)).toBe(false);
    }
    expect(html).toContain('<th>Refused at</th>');
    expect(html).toContain('<td>auth</td><td>127.0.0.1</td>');
    expect(html).not.toMatch(/::ffff:/i);
    expect(errors).toEqual([]);
    await page.close();
  });

  it('refuses a DNS-rebinding page: a name the attacker points at 127.0.0.1 reads nothing', async () => {
    const port = new URL(app.adminUrl).port;
    // The browser resolves the attacker's name to the admin's address, as a rebinding DNS would.
    const context = await browser.newContext();
    const page = await context.newPage();
    const rebound = await page.goto(`http://rebind.attacker.test:${port}/api/orders`);
    expect(rebound?.status()).toBe(421);
    expect(await rebound?.json()).toMatchObject({ error: { code: 'MISDIRECTED_REQUEST' } });
    // The page the attacker serves from its name can read nothing either.
    const seen = await page.evaluate(async () => {
      const answer = await fetch('/api/events');
      return { status: answer.status, text: await answer.text() };
    });
    expect(seen.status).toBe(421);
    expect(seen.text).not.toContain('resourceId');
    await context.close();
  });
});
