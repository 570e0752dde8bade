import type { WireEvent } from '@c2p/core/kit';
import { createClik2payMock } from '@c2p/testing';
import { describeReconcilerConformance } from './support/reconciler-conformance.js';

// The reconciler against `c2p mock` (the library behind it): settled with the webhook dropped.
describeReconcilerConformance('c2p mock', async () => {
  const credentials = { username: 'mock-user', password: 'mock-password', apiKey: 'mock-key-1' };
  const mock = await createClik2payMock({
    port: 0,
    apiUsername: credentials.username,
    apiPassword: credentials.password,
    apiKey: credentials.apiKey,
  });
  const settle = async (id: string, action: 'pay' | 'fail'): Promise<WireEvent> => {
    const result = await mock.settle(id, action, { dropWebhook: true });
    if ('conflict' in result) throw new Error(`${action} ${id}: ${result.conflict}`);
    if (result.webhook !== 'dropped')
      throw new Error(`${action} ${id}: the webhook was not dropped`);
    return result.event as WireEvent;
  };
  return {
    ...credentials,
    baseUrl: mock.baseUrl,
    tokenUrl: mock.tokenUrl,
    pay: (id) => settle(id, 'pay'),
    fail: async (id) => {
      await settle(id, 'fail');
    },
    failNext: async (fault) => mock.fault(fault),
    apiCalls: async () => mock.stats().apiCalls,
    close: () => mock.close(),
  };
});
