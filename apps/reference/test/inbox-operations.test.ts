/**
 * The inbox operations from outside (issue 19): the built app started as a user
 * starts it, on SQLite, over HTTP, against a recording order system. Pause and
 * resume, bulk replay with a dry run, search with cursors, and attempt history;
 * each proof prints its counts. (The PostgreSQL two-process versions live beside
 * the PostgreSQL inbox.)
 */
import { createBody, createEvent, deliver } from '@c2p/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Downstream, startDownstream } from './support/downstream.js';
import {
  credentials,
  getJson,
  type InboxEventBody,
  type RunningReference,
  startReference,
  tempDir,
  waitFor,
} from './support/reference.js';

interface Listing {
  counts: Record<string, number>;
  paused: boolean;
  events: InboxEventBody[];
  next: string | null;
}
interface Detail extends InboxEventBody {
  event: { eventType: string; resource: { id: string } };
  history: Array<{ at: string; action: string; outcome?: string; error?: string }>;
}

const paidKey = (id: string): string => `payment-request:${id}:PAYMENT-COMPLETED:PAID`;

describe('inbox operations over HTTP, on SQLite', () => {
  let downstream: Downstream;
  let dir: ReturnType<typeof tempDir>;
  let app: RunningReference;
  const url = (path: string): string => new URL(path, app.adminUrl).href;
  const list = async (query: string): Promise<Listing> => {
    const { status, body } = await getJson<Listing>(url(`api/inbox?${query}`));
    expect(status, query).toBe(200);
    return body;
  };
  const post = async (path: string, body?: unknown) => {
    const response = await fetch(url(path), {
      method: 'POST',
      ...(body === undefined
        ? {}
        : { headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) }),
    });
    return { status: response.status, body: (await response.json()) as Record<string, unknown> };
  };
  /** Delivers `events` in bodies of 50, each accepted. */
  const send = async (events: ReturnType<typeof createEvent>[]): Promise<void> => {
    for (let start = 0; start < events.length; start += 50) {
      const result = await deliver({
        url: app.webhookUrls.express,
        ...credentials,
        body: createBody(events.slice(start, start + 50)),
        attempts: 1,
        timeoutMs: 10_000,
      });
      expect(result.attempts[0]?.status).toBe(200);
    }
  };

  beforeAll(async () => {
    downstream = await startDownstream();
    dir = tempDir();
    app = await startReference({
      C2P_STORE: `sqlite:${dir.path}/reference.db`,
      C2P_FULFIL_URL: downstream.url,
      C2P_RETRY_MAX_ATTEMPTS: '3',
      C2P_RETRY_BASE_MS: '100',
      C2P_INBOX_RETAIN_DAYS: '7',
      // The search proof processes 1,200 events: more in flight keeps it well under a minute.
      C2P_WORKER_CONCURRENCY: '16',
    });
  });
  afterAll(async () => {
    if (app) expect(await app.stop()).toBe(0);
    await downstream?.close();
    dir?.remove();
  });

  it('pause: accepted while paused, nothing attempted for 10 s; after resume all processed', async () => {
    expect(await post('api/inbox/pause')).toEqual({ status: 200, body: { paused: true } });
    expect((await list('limit=1')).paused).toBe(true);
    const ids = Array.from({ length: 10 }, () => crypto.randomUUID());
    await send(ids.map((id) => createEvent({ id })));
    await new Promise((resolve) => setTimeout(resolve, 10_000));
    const held = await list('state=pending&limit=500');
    const attempts = held.events.reduce((sum, e) => sum + e.attempts, 0);
    console.log(
      `pause: after 10 s paused, ${downstream.received} order-system calls, ${held.events.length} pending, ${attempts} attempts`,
    );
    expect(downstream.received).toBe(0);
    expect(held.events).toHaveLength(10);
    expect(attempts).toBe(0);

    const resumed = Date.now();
    expect(await post('api/inbox/resume')).toEqual({ status: 200, body: { paused: false } });
    const done = await waitFor(
      'the 10 held events processed',
      () => list('state=processed&limit=500'),
      (l) => l.events.length === 10,
      10_000,
    );
    console.log(
      `pause: resumed, ${done.events.length} processed in ${Date.now() - resumed} ms, ${downstream.fulfilled().length} fulfilled`,
    );
    expect(new Set(downstream.fulfilled())).toEqual(new Set(ids.map(paidKey)));
  });

  it('bulk replay: 50 dead, a dry run matches 50, the replay replays 50 once each, again 0', async () => {
    downstream.mode = 'fail';
    const ids = Array.from({ length: 50 }, () => crypto.randomUUID());
    await send(ids.map((id) => createEvent({ id })));
    await waitFor(
      '50 dead',
      () => list('state=dead&limit=500'),
      (l) => l.events.length === 50,
      30_000,
    );
    downstream.mode = 'ok';
    const before = downstream.calls.length;
    expect(await post('api/inbox/replay', { dryRun: true })).toEqual({
      status: 200,
      body: { matched: 50 },
    });
    expect((await list('state=dead&limit=500')).events).toHaveLength(50);
    expect(await post('api/inbox/replay', { state: 'dead' })).toEqual({
      status: 200,
      body: { replayed: 50 },
    });
    const started = Date.now();
    const settled = await waitFor(
      'dead 0, the 50 processed',
      () => list('limit=1'),
      (l) => l.counts.dead === 0 && l.counts.pending === 0 && l.counts.retrying === 0,
      30_000,
    );
    const calls = downstream.calls.slice(before);
    const keys = new Set(calls.map((c) => c.key));
    console.log(
      `bulk replay: dead ${settled.counts.dead}, processed ${settled.counts.processed} (60 in all) after ${Date.now() - started} ms; ${calls.length} order-system calls, ${keys.size} distinct keys`,
    );
    expect(settled.counts.processed).toBe(60);
    expect(calls).toHaveLength(50);
    expect(keys).toEqual(new Set(ids.map(paidKey)));
    expect(calls.every((c) => c.status === 201)).toBe(true);
    expect(await post('api/inbox/replay', {})).toEqual({ status: 200, body: { replayed: 0 } });
    // Only dead events are replayed; an unknown field is named.
    expect(await post('api/inbox/replay', { state: 'processed' })).toMatchObject({
      status: 400,
      body: { error: { code: 'BAD_REQUEST', message: expect.stringContaining('state') } },
    });
    expect(await post('api/inbox/replay', { everything: true })).toMatchObject({
      status: 400,
      body: { error: { message: expect.stringContaining('everything') } },
    });
  });

  it('history: three failed attempts, dead, replayed, processed', async () => {
    downstream.mode = 'fail';
    const id = crypto.randomUUID();
    await send([createEvent({ id })]);
    const dead = await waitFor(
      'the event dead',
      async () => (await list(`key=${encodeURIComponent(paidKey(id))}`)).events[0],
      (e) => e?.state === 'dead',
      30_000,
    );
    downstream.mode = 'ok';
    expect((await post(`api/inbox/${dead?.id}/replay`)).status).toBe(200);
    await waitFor(
      'the replayed event processed',
      async () => (await list(`key=${encodeURIComponent(paidKey(id))}`)).events[0],
      (e) => e?.state === 'processed',
    );
    const { status, body } = await getJson<Detail>(url(`api/inbox/${dead?.id}`));
    expect(status).toBe(200);
    const attempts = body.history.filter((item) => item.action === 'attempt');
    const replays = body.history.filter((item) => item.action === 'replayed');
    console.log(
      `history: ${attempts.length} attempts (${attempts.map((a) => a.outcome).join(', ')}), ${replays.length} replay`,
    );
    expect(body.history.map((item) => item.outcome ?? item.action)).toEqual([
      'retrying',
      'retrying',
      'dead',
      'replayed',
      'processed',
    ]);
    expect(attempts[0]?.error).toContain('503');
    expect(body.event).toMatchObject({ eventType: 'PAYMENT-COMPLETED', resource: { id } });
    expect(body.attempts).toBe(1);
    // Resolve: only a dead event; this one is processed.
    expect(await post(`api/inbox/${dead?.id}/resolve`, { note: 'done' })).toMatchObject({
      status: 409,
      body: { error: { code: 'WRONG_STATE' } },
    });
  });

  it('resolve: a dead event handled by hand is kept, counted apart and never run', async () => {
    downstream.mode = 'fail';
    const id = crypto.randomUUID();
    await send([createEvent({ id })]);
    const dead = await waitFor(
      'the event dead',
      async () => (await list(`key=${encodeURIComponent(paidKey(id))}`)).events[0],
      (e) => e?.state === 'dead',
      30_000,
    );
    downstream.mode = 'ok';
    expect(await post(`api/inbox/${dead?.id}/resolve`, {})).toMatchObject({ status: 400 });
    const resolved = await post(`api/inbox/${dead?.id}/resolve`, { note: 'refunded, ticket 42' });
    expect(resolved).toMatchObject({ status: 200, body: { id: dead?.id, state: 'resolved' } });
    const { body } = await getJson<Detail>(url(`api/inbox/${dead?.id}`));
    expect(body.history.at(-1)).toMatchObject({ action: 'resolved', note: 'refunded, ticket 42' });
    const counts = (await list('state=resolved')).counts;
    console.log(`resolve: counts ${JSON.stringify(counts)}`);
    expect(counts).toMatchObject({ resolved: 1, dead: 0 });
    expect(await post('api/inbox/replay', { dryRun: true })).toMatchObject({
      body: { matched: 0 },
    });
  });

  it('search: PAID and FAILED of one payment request among 1,198 others; 1,200 paged by 500', async () => {
    const one = crypto.randomUUID();
    const events = [
      ...Array.from({ length: 599 }, () => createEvent()),
      createEvent({ id: one }),
      ...Array.from({ length: 599 }, () => createEvent()),
      createEvent({ id: one, eventType: 'PAYMENT-FAILED' }),
    ];
    const sent = Date.now();
    await send(events);
    const before = (await list('limit=1')).counts.processed;
    await waitFor(
      'the 1,200 processed',
      () => list('limit=1'),
      (l) => l.counts.pending === 0 && l.counts.retrying === 0,
      60_000,
    );
    const found = await list(`resource=${encodeURIComponent(`payment-request:${one}`)}`);
    console.log(
      `search: ${events.length} sent and processed in ${Date.now() - sent} ms (${before} processed when all were accepted); resource=payment-request:${one} -> ${found.events.length} (${found.events.map((e) => e.eventType).join(', ')})`,
    );
    expect(found.events.map((e) => e.eventType).sort()).toEqual([
      'PAYMENT-COMPLETED',
      'PAYMENT-FAILED',
    ]);
    expect(found.next).toBeNull();
    const failedOne = await list(
      `resource=${encodeURIComponent(`payment-request:${one}`)}&eventType=PAYMENT-FAILED&state=processed`,
    );
    expect(failedOne.events).toHaveLength(1);

    // Every processed event, paged by 500 while more deliveries arrive.
    const seen: string[] = [];
    let after: string | null = null;
    let pages = 0;
    const since = new Date(sent - 1).toISOString();
    do {
      const query = `state=processed&receivedSince=${since}&limit=500${after ? `&after=${encodeURIComponent(after)}` : ''}`;
      const page = await list(query);
      seen.push(...page.events.map((e) => e.id));
      after = page.next;
      pages++;
      if (after !== null) await send([createEvent()]);
    } while (after !== null && pages < 10);
    console.log(
      `search: ${seen.length} ids in ${pages} pages of 500, ${new Set(seen).size} distinct`,
    );
    expect(pages).toBe(3);
    expect(new Set(seen).size).toBe(1_200);
    expect(seen).toHaveLength(1_200);

    for (const query of ['resourceId=x', 'limit=501', 'after=x', 'receivedBefore=soon']) {
      const answer = await getJson<{ error: { code: string; message: string } }>(
        url(`api/inbox?${query}`),
      );
      expect(answer.status, query).toBe(400);
      expect(answer.body.error.message, query).toContain(query.split('=')[0]);
    }
    // 1,200 events through SQLite's fsync per completion on a shared machine: 45 s measured.
  }, 120_000);
});
