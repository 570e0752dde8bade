import { createClik2payMock } from '@c2p/testing';
import { describeClientConformance } from './support/client-conformance.js';

// The client against `c2p mock` (the library behind it), driven through its control routes.
describeClientConformance('c2p mock', async () => {
  const credentials = { username: 'mock-user', password: 'mock:pässword', apiKey: 'mock-key-1' };
  const mock = await createClik2payMock({
    port: 0,
    apiUsername: credentials.username,
    apiPassword: credentials.password,
    apiKey: credentials.apiKey,
  });
  const control = async (path: string, body?: unknown): Promise<void> => {
    const response = await fetch(`${mock.url}/_mock/${path}`, {
      method: 'POST',
      ...(body === undefined ? {} : { body: JSON.stringify(body) }),
    });
    if (!response.ok) throw new Error(`${path}: ${response.status} ${await response.text()}`);
  };
  const stats = async (): Promise<{ tokenCalls: number; apiCalls: number }> =>
    (await fetch(`${mock.url}/_mock/stats`)).json() as Promise<{
      tokenCalls: number;
      apiCalls: number;
    }>;
  return {
    ...credentials,
    baseUrl: mock.baseUrl,
    tokenUrl: mock.tokenUrl,
    tokenCalls: async () => (await stats()).tokenCalls,
    apiCalls: async () => (await stats()).apiCalls,
    failNext: (fault) => control('faults', fault),
    expireTokens: () => control('tokens/expire'),
    pay: (id) => control(`payment-requests/${id}/pay`),
    close: () => mock.close(),
  };
});
