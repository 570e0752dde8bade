import type { WireEvent } from '@c2p/core/kit';
import { createEvent } from '@c2p/testing';
import { startFakeClik2pay } from './support/fake-clik2pay.js';
import { describeReconcilerConformance } from './support/reconciler-conformance.js';

// The reconciler against the test's own fake: payment requests change status by hand, and
// the webhook Clik2pay would have sent is built with the testing kit's factory.
describeReconcilerConformance('an independent fake', async () => {
  const fake = await startFakeClik2pay();
  let faults = 0;
  let faultStatus = 0;
  fake.script = (_seen, res) => {
    if (faults === 0) return false;
    faults -= 1;
    res.writeHead(faultStatus, { 'content-type': 'application/json' }).end('{}');
    return true;
  };
  return {
    baseUrl: fake.baseUrl,
    tokenUrl: fake.tokenUrl,
    username: fake.username,
    password: fake.password,
    apiKey: fake.apiKey,
    pay: async (id) => {
      fake.setStatus(id, 'PAID');
      return createEvent({ id, status: 'PAID', amount: 25.5 }) as WireEvent;
    },
    fail: async (id) => fake.setStatus(id, 'FAILED'),
    failNext: async ({ status, times }) => {
      faultStatus = status;
      faults = times;
    },
    apiCalls: async () => fake.requests.filter((r) => r.path.startsWith('/api/')).length,
    close: () => fake.close(),
  };
});
