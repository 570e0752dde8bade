import type { DeliveryReport } from '@c2p/core';
import { describe, expect, it } from 'vitest';
import {
  createDeliveryLog,
  createMemoryDeliveryStorage,
  type DeliveryLogStorage,
  displayIp,
} from '../src/delivery-log.js';

describe('displayIp', () => {
  it.each([
    ['::ffff:127.0.0.1', '127.0.0.1'],
    ['::FFFF:3.99.39.224', '3.99.39.224'],
    ['127.0.0.1', '127.0.0.1'],
    ['::1', '::1'],
    ['2001:DB8:0:0:0:0:0:1', '2001:db8::1'],
  ])('shows %s as %s', (raw, shown) => {
    expect(displayIp(raw)).toBe(shown);
  });

  it('keeps what does not parse as received, and a missing address as null', () => {
    expect(displayIp('not-an-ip')).toBe('not-an-ip');
    expect(displayIp('127.0.0.1:8080')).toBe('127.0.0.1:8080');
    expect(displayIp(undefined)).toBeNull();
  });
});

describe('the delivery log', () => {
  it('records the client address as shown on the admin page', () => {
    const report: DeliveryReport = {
      status: 401,
      code: 'UNAUTHORIZED',
      step: 'auth',
      clientIp: '::ffff:127.0.0.1',
      events: [],
    };
    expect(
      createDeliveryLog(createMemoryDeliveryStorage()).record('express', report),
    ).toMatchObject({
      clientIp: '127.0.0.1',
      outcome: 'rejected',
      step: 'auth',
    });
  });

  const report = (status: number): DeliveryReport => ({
    status,
    code: undefined,
    step: 'events',
    clientIp: '127.0.0.1',
    events: [],
  });

  it('reads every delivery recorded before the read, newest first, keeping the last ones', async () => {
    const log = createDeliveryLog(createMemoryDeliveryStorage(3), { capacity: 3 });
    for (const status of [200, 201, 202, 203]) log.record('hono', report(status));
    const recent = await log.recent();
    expect(recent.map((e) => e.status)).toEqual([203, 202, 201]);
    expect(recent[0]?.seq).toBeGreaterThan(recent[1]?.seq ?? Number.POSITIVE_INFINITY);
  });

  it('keeps what a failed write held and writes it, in order, once the storage answers', async () => {
    const written: number[] = [];
    let down = true;
    const errors: unknown[] = [];
    const memory = createMemoryDeliveryStorage();
    const flaky: DeliveryLogStorage = {
      async append(entries) {
        if (down) throw new Error('database away');
        written.push(...entries.map((e) => e.status));
        await memory.append(entries);
      },
      recent: (limit) => memory.recent(limit),
      close: () => memory.close(),
    };
    const log = createDeliveryLog(flaky, { onError: (error) => errors.push(error) });
    log.record('express', report(200));
    expect(await log.recent()).toEqual([]);
    expect(errors).toHaveLength(1);
    down = false;
    log.record('express', report(201));
    expect((await log.recent()).map((e) => e.status)).toEqual([201, 200]);
    expect(written).toEqual([200, 201]);
    await log.close();
  });
});
