import { get } from 'node:https';
import { createBody, createEvent, deliver, deliverMany } from '@c2p/testing';
import { afterAll, describe, expect, it } from 'vitest';
import {
  credentials,
  type DeliveryBody,
  getJson,
  type OrderBody,
  selfSignedCertificate,
  startReference,
  tempDir,
} from './support/reference.js';

const listeners = ['express', 'fastify', 'hono'] as const;

describe('restart with the SQLite store', () => {
  const dir = tempDir();
  afterAll(() => dir.remove());
  const env = { C2P_STORE: `sqlite:${dir.path}/data/reference.db` };

  it('keeps the order, does not fulfil a duplicate again, and exits 0 on SIGTERM', async () => {
    const id = crypto.randomUUID();
    const paid = createBody(createEvent({ id }));
    const followed = createBody(createEvent({ id, eventType: 'PAYMENT-LINK-FOLLOWED' }));

    const first = await startReference(env);
    expect(
      (await deliver({ url: first.webhookUrls.express, ...credentials, body: paid, attempts: 1 }))
        .delivered,
    ).toBe(true);
    expect(await first.stop('SIGTERM')).toBe(0);
    expect(first.stdout()).toContain('"msg":"stopped"');

    const second = await startReference(env);
    try {
      const orderUrl = new URL(`api/orders/${id}`, second.adminUrl).href;
      expect((await getJson<OrderBody>(orderUrl)).body).toMatchObject({
        state: 'paid',
        fulfilments: 1,
      });
      for (const name of listeners) {
        const again = await deliver({
          url: second.webhookUrls[name],
          ...credentials,
          body: paid,
          attempts: 1,
        });
        expect(JSON.parse(again.attempts[0]?.responseBody ?? '')).toMatchObject({
          processed: 0,
          duplicates: 1,
        });
      }
      // Out of order: a late link-followed is recorded but does not undo the payment.
      expect(
        (
          await deliver({
            url: second.webhookUrls.hono,
            ...credentials,
            body: followed,
            attempts: 1,
          })
        ).delivered,
      ).toBe(true);
      const order = (await getJson<OrderBody>(orderUrl)).body;
      expect(order).toMatchObject({ state: 'paid', fulfilments: 1 });
      expect(order.events.map((e) => [e.eventType, e.effect])).toEqual([
        ['PAYMENT-COMPLETED', 'fulfilled'],
        ['PAYMENT-LINK-FOLLOWED', 'recorded'],
      ]);
      const outcomes = (
        await getJson<DeliveryBody[]>(new URL('api/events', second.adminUrl).href)
      ).body.map((d) => d.outcome);
      expect(outcomes).toEqual(['processed', 'duplicate', 'duplicate', 'duplicate']);
    } finally {
      expect(await second.stop('SIGINT')).toBe(0);
    }
  });

  it('finishes in-flight deliveries when stopped under load, and loses none it answered', async () => {
    const ids = Array.from({ length: 40 }, () => crypto.randomUUID());
    const app = await startReference(env);
    let stopping: Promise<number | null> | undefined;
    const run = deliverMany({
      url: app.webhookUrls.fastify,
      ...credentials,
      bodies: ids.map((id) => createBody(createEvent({ id }))),
      concurrency: 8,
      attempts: 1,
      onAttempt: (report, delivery) => {
        if (delivery.index === 10 && report.status === 200) stopping = app.stop('SIGTERM');
      },
    });
    const result = await run;
    expect(await (stopping ?? app.stop('SIGTERM'))).toBe(0);
    const answered = result.deliveries.filter((d) => d.delivered);
    expect(answered.length).toBeGreaterThan(10);
    // Nothing in flight was cut off with a 5xx: a delivery either got its 200 or was never accepted.
    for (const d of result.deliveries) expect([200, null]).toContain(d.attempts[0]?.status);

    const again = await startReference(env);
    try {
      for (const d of answered) {
        const id = ids[d.bodyIndex] as string;
        const order = await getJson<OrderBody>(new URL(`api/orders/${id}`, again.adminUrl).href);
        expect(order.body).toMatchObject({ state: 'paid', fulfilments: 1 });
      }
    } finally {
      expect(await again.stop()).toBe(0);
    }
  });
});

function httpsGet(url: string, ca: string): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    get(url, { ca }, (response) => {
      let body = '';
      response.setEncoding('utf8').on('data', (c: string) => {
        body += c;
      });
      response.on('end', () => resolve({ status: response.statusCode ?? 0, body }));
    }).on('error', reject);
  });
}

describe('HTTPS with a self-signed certificate', () => {
  const dir = tempDir();
  afterAll(() => dir.remove());

  it('serves every listener and the admin over TLS', async () => {
    const { certFile, keyFile, cert } = selfSignedCertificate(dir.path);
    const app = await startReference({
      C2P_STORE: 'memory',
      TLS_CERT_FILE: certFile,
      TLS_KEY_FILE: keyFile,
    });
    try {
      expect(app.adminUrl).toMatch(/^https:/);
      for (const name of listeners) {
        const url = app.webhookUrls[name];
        expect(url).toMatch(/^https:\/\/localhost:\d+\/webhooks\/clik2pay$/);
        const id = crypto.randomUUID();
        const result = await deliver({
          url,
          ...credentials,
          body: createBody(createEvent({ id })),
          ca: cert,
          attempts: 1,
        });
        expect(result.attempts[0]?.status, name).toBe(200);
        expect((await httpsGet(new URL('/healthz', url).href, cert)).status).toBe(200);
        const order = await httpsGet(new URL(`api/orders/${id}`, app.adminUrl).href, cert);
        expect(JSON.parse(order.body)).toMatchObject({ state: 'paid', fulfilments: 1 });
        // Plain HTTP to a TLS port is not served.
        await expect(fetch(url.replace('https:', 'http:'), { method: 'POST' })).rejects.toThrow();
      }
      // The banner's test command trusts the self-signed certificate.
      expect(app.stdout()).toContain(`--ca '${certFile}'`);
    } finally {
      expect(await app.stop()).toBe(0);
    }
  });
});
