import { existsSync } from 'node:fs';
import { createBody, createEvent, deliver } from '@c2p/testing';
import { type Browser, chromium } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { closedPort, orderSystemOn } from './support/alert-receiver.js';
import {
  credentials,
  inboxEvent,
  type RunningReference,
  startReference,
  waitFor,
} from './support/reference.js';

const executablePath = '/usr/bin/chromium';

/** The colour of the screenshot's pixel at (x, y), read back through a canvas in a blank page. */
async function pixel(browser: Browser, png: Buffer, x: number, y: number): Promise<number[]> {
  const blank = await browser.newPage();
  try {
    return await blank.evaluate(
      async ({ data, x, y }) => {
        const image = new Image();
        image.src = `data:image/png;base64,${data}`;
        await image.decode();
        const canvas = document.createElement('canvas');
        canvas.width = image.width;
        canvas.height = image.height;
        const context = canvas.getContext('2d') as CanvasRenderingContext2D;
        context.drawImage(image, 0, 0);
        return [...context.getImageData(x, y, 1, 1).data].slice(0, 3);
      },
      { data: png.toString('base64'), x, y },
    );
  } finally {
    await blank.close();
  }
}

describe('the admin page: alert banner and audit, in headless Chromium', () => {
  let app: RunningReference;
  let browser: Browser;
  let orderPort: number;
  beforeAll(async () => {
    if (!existsSync(executablePath)) {
      throw new Error(
        `${executablePath} is missing: install Debian's chromium (apt-get install -y chromium)`,
      );
    }
    orderPort = await closedPort();
    // One attempt in all: a refused fulfilment is dead at once.
    app = await startReference({
      C2P_STORE: 'memory',
      C2P_FULFIL_URL: `http://127.0.0.1:${orderPort}/fulfil`,
      C2P_RETRY_MAX_ATTEMPTS: '1',
    });
    browser = await chromium.launch({
      executablePath,
      args: ['--no-sandbox', '--disable-gpu', '--disable-background-networking', '--no-first-run'],
    });
  });
  afterAll(async () => {
    await browser?.close();
    if (app) expect(await app.stop()).toBe(0);
  });

  it('shows a red banner while /healthz/inbox answers 503, hides it once the event is processed, and lists the replay in the audit', async () => {
    const page = await browser.newPage({ viewport: { width: 1200, height: 800 } });
    const errors: string[] = [];
    page.on('pageerror', (error) => errors.push(error.message));
    await page.goto(app.adminUrl);
    expect(await page.locator('#alert-banner').isVisible()).toBe(false);

    const id = `pr-banner-${Date.now()}`;
    const key = `payment-request:${id}:PAYMENT-COMPLETED:PAID`;
    const body = createBody(createEvent({ eventType: 'PAYMENT-COMPLETED', status: 'PAID', id }));
    await deliver({ url: app.webhookUrls.express, ...credentials, body, attempts: 1 });
    const dead = await waitFor(
      'the event dead',
      () => inboxEvent(app, key),
      (e) => e?.state === 'dead',
    );

    // The page's refresh shows the banner within 2 s, without a reload.
    const banner = page.locator('#alert-banner');
    await banner.waitFor({ state: 'visible', timeout: 10_000 });
    expect(await banner.textContent()).toContain('1 dead event needs a person');
    const box = await banner.boundingBox();
    expect(box?.height).toBeGreaterThan(10);
    const shot = await page.screenshot();
    const [r, g, b] = await pixel(
      browser,
      shot,
      Math.round((box?.x ?? 0) + 5),
      Math.round((box?.y ?? 0) + 5),
    );
    // The banner's red (#b00020), as drawn: not the page's white.
    expect([r, g, b]).toEqual([176, 0, 32]);
    // A reload renders it on the server too.
    await page.reload();
    expect(await page.locator('#alert-banner').isVisible()).toBe(true);

    // The order system comes up; a replay (audited) is processed; the banner goes.
    const orders = await orderSystemOn(orderPort);
    try {
      const replay = await fetch(new URL(`api/inbox/${dead?.id}/replay`, app.adminUrl), {
        method: 'POST',
      });
      expect(replay.status).toBe(200);
      await banner.waitFor({ state: 'hidden', timeout: 10_000 });
      const row = page.locator('#audit tbody tr', { hasText: 'replay' });
      await row.first().waitFor({ timeout: 10_000 });
      expect(await row.first().textContent()).toContain(`inbox:${dead?.id}`);
    } finally {
      await orders.close();
    }
    expect(errors).toEqual([]);
    await page.close();
  }, 120_000);
});
