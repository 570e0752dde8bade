import { describeRateGateConformance } from '@c2p/testing/rate-gate-conformance';
import { expect, it } from 'vitest';
import { createRedisRateGate } from '../src/index.js';
import { serverUrl } from './server-url.js';

const url = serverUrl();

// Each reserver opens a client of its own, as another process would; the keys
// expire by themselves once their next start is past.
describeRateGateConformance('redis', {
  createGate: ({ name, perSecond, marginMs }) =>
    createRedisRateGate({ client: url, key: `c2p-test:rate:${name}`, perSecond, marginMs }),
});

it('fails with STORE_UNAVAILABLE when Redis cannot be reached', async () => {
  const gate = createRedisRateGate({
    client: 'redis://127.0.0.1:1',
    readyTimeoutMs: 300,
    perSecond: 1,
  });
  await expect(gate.reserve()).rejects.toMatchObject({ code: 'STORE_UNAVAILABLE' });
  await gate.close();
});
