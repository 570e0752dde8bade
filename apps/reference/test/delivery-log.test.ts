import type { DeliveryReport } from '@c2p/core';
import { describe, expect, it } from 'vitest';
import { createDeliveryLog, displayIp } from '../src/delivery-log.js';

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
    expect(createDeliveryLog().record('express', report)).toMatchObject({
      clientIp: '127.0.0.1',
      outcome: 'rejected',
      step: 'auth',
    });
  });
});
