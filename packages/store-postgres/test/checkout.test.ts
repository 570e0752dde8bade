import { randomBytes } from 'node:crypto';
import { isC2pError } from '@c2p/core';
import pg from 'pg';
import { afterAll, describe, expect, it } from 'vitest';
import { createPostgresInbox, createPostgresStore } from '../src/index.js';
import { serverUrl } from './server-url.js';

// A client checked out for a transaction whose connection the server ends (a
// restart, an administrator) emits 'error' on the client; with no listener that
// ends the process. Here the server ends it mid-handler: the operation must fail
// with the handler's own error (its query failed), nothing committed, and the
// process (this test worker) must live on: vitest fails a run with an unhandled error.
const url = serverUrl();
const admin = new pg.Pool({ connectionString: url, max: 2 });
admin.on('error', () => undefined);
const tables: string[] = [];
const closers: Array<() => Promise<void>> = [];
afterAll(async () => {
  await Promise.allSettled(closers.map((close) => close()));
  for (const table of tables) await admin.query(`DROP TABLE IF EXISTS ${table}`).catch(() => {});
  await admin.end();
});

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

/** Ends the backend of `client` from another connection, then waits for the client to hear it. */
async function endBackendOf(client: pg.PoolClient): Promise<void> {
  const { rows } = await client.query<{ pid: number }>('SELECT pg_backend_pid() AS pid');
  await admin.query('SELECT pg_terminate_backend($1)', [rows[0]?.pid]);
  await sleep(200);
}

describe('a connection ended under a running transaction', () => {
  it('fails processOnce with the handler error and does not end the process', async () => {
    const table = `c2p_${randomBytes(6).toString('hex')}`;
    tables.push(table);
    const store = createPostgresStore({ connection: url, table });
    closers.push(() => store.close());
    await store.migrate();
    const error = await store
      .processOnce('k1', 60_000, async (client) => {
        await endBackendOf(client);
        await client.query('SELECT 1');
      })
      .catch((caught: unknown) => caught);
    expect(error).toBeInstanceOf(Error);
    expect(isC2pError(error)).toBe(false);
    // The store still works with a fresh connection, and the key was not completed.
    expect(await store.processOnce('k1', 60_000, async () => {})).toBe('processed');
  });

  it('fails the inbox completion with the handler error and does not end the process', async () => {
    const table = `c2p_${randomBytes(6).toString('hex')}`;
    tables.push(table);
    const inbox = createPostgresInbox({ connection: url, table });
    closers.push(() => inbox.close());
    await inbox.migrate();
    await inbox.enqueue([
      {
        key: 'k1',
        resourceKey: 'payment-request:R1',
        eventType: 'PAYMENT-COMPLETED',
        payload: '{}',
        receivedAt: Date.now(),
        clientIp: null,
      },
    ]);
    const [lease] = await inbox.lease(1, 60_000);
    if (!lease) throw new Error('expected a lease');
    const error = await inbox
      .completeWithin(lease.entry.id, lease.token, async (client) => {
        await endBackendOf(client);
        await client.query('SELECT 1');
      })
      .catch((caught: unknown) => caught);
    expect(error).toBeInstanceOf(Error);
    expect((await inbox.get(lease.entry.id))?.state).toBe('pending');
  });
});
