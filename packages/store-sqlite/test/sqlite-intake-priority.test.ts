// Acceptance first (issue 23, item 1): a delivery's commit never queues behind
// the worker's writes or behind a row of large deliveries' commits.
import { connect, createServer, type Socket } from 'node:net';
import type { InboxRecord } from '@c2p/core/kit';
import { describe, expect, it } from 'vitest';
import { createSqliteInbox } from '../src/index.js';
import { databaseFiles, inboxRecord, tempFolder } from './support/sqlite-files.js';

const file = databaseFiles(tempFolder('intake-priority'));

const record = (key: string) => inboxRecord(key, 'PAYMENT-FAILED');
const delivery = (name: string, events: number): InboxRecord[] =>
  Array.from({ length: events }, (_, i) => record(`${name}-${i}`));

describe('SQLite inbox: acceptance first', () => {
  it('commits a small delivery after at most one large one queued before it, not after all of them', async () => {
    const inbox = createSqliteInbox({ database: file() });
    const order: string[] = [];
    const track = (name: string, records: InboxRecord[]): Promise<void> =>
      inbox.enqueue(records).then((flags) => {
        expect(flags.every(Boolean)).toBe(true);
        order.push(name);
      });
    const large = Array.from({ length: 8 }, (_, i) =>
      track(`large-${i}`, delivery(`l${i}`, 1_091)),
    );
    const small = track('small', delivery('s', 1));
    await Promise.all([...large, small]);
    await inbox.close();
    expect(order.indexOf('small'), order.join(' ')).toBeLessThanOrEqual(1);
    // The large ones keep their arrival order among themselves.
    expect(order.filter((name) => name !== 'small')).toEqual(
      Array.from({ length: 8 }, (_, i) => `large-${i}`),
    );
  });

  it('lets new connections in between large commits (Node accepts one per turn of the loop)', async () => {
    // A delivery on a new connection is read only once the server accepts it, and
    // Node (libuv since 1.45) accepts one connection per turn of the event loop.
    // Twelve connections wait to be accepted while eight large deliveries commit: by
    // the second large commit, the first must have given the loop its turns.
    const inbox = createSqliteInbox({ database: file() });
    const server = createServer();
    let accepted = 0;
    const sockets: Socket[] = [];
    server.on('connection', (socket) => {
      accepted++;
      sockets.push(socket);
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const { port } = server.address() as { port: number };
    const clients = Array.from({ length: 12 }, () => connect(port, '127.0.0.1'));
    await Promise.all(
      clients.map((client) => new Promise((resolve) => client.once('connect', resolve))),
    );
    const acceptedAt: number[] = [];
    await Promise.all(
      Array.from({ length: 8 }, (_, i) =>
        inbox.enqueue(delivery(`l${i}`, 1_091)).then(() => acceptedAt.push(accepted)),
      ),
    );
    const finished = accepted;
    for (const socket of [...clients, ...sockets]) socket.destroy();
    await new Promise((resolve) => server.close(resolve));
    await inbox.close();
    console.log(`connections accepted as each large delivery committed: ${acceptedAt.join(', ')}`);
    expect(acceptedAt[1]).toBeGreaterThanOrEqual(8);
    expect(finished).toBe(12);
  });

  it("commits a delivery before the worker's writes that were already waiting", async () => {
    const inbox = createSqliteInbox({ database: file() });
    await inbox.enqueue(delivery('backlog', 100));
    const leases = await inbox.lease(100, 60_000);
    expect(leases).toHaveLength(100);
    let renewed = 0;
    // 100 of the worker's writes (each its own commit, an fsync), then one delivery.
    const renewals = leases.map(({ entry, token }) =>
      inbox.renew(entry.id, token, 60_000).then((held) => {
        expect(held).toBe(true);
        renewed++;
      }),
    );
    const renewedBeforeDelivery = await inbox.enqueue(delivery('new', 1)).then(() => renewed);
    await Promise.all(renewals);
    await inbox.close();
    expect(renewedBeforeDelivery).toBe(0);
    expect(renewed).toBe(100);
  });

  it('spreads the worker writes over turns of the event loop once a delivery has come in', async () => {
    const inbox = createSqliteInbox({ database: file() });
    await inbox.enqueue(delivery('backlog', 50));
    const leases = await inbox.lease(50, 60_000);
    let renewed = 0;
    const renewals = leases.map(({ entry, token }) =>
      inbox.renew(entry.id, token, 60_000).then(() => {
        renewed++;
      }),
    );
    // One turn of the event loop (a request read in between) sees at most a few of them done.
    await new Promise<void>((resolve) => setImmediate(resolve));
    await new Promise<void>((resolve) => setImmediate(resolve));
    const afterTwoTurns = renewed;
    await Promise.all(renewals);
    await inbox.close();
    expect(afterTwoTurns).toBeLessThanOrEqual(2);
    expect(renewed).toBe(50);
  });
});
