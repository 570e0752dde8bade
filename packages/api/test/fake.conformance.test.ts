import { describeClientConformance } from './support/client-conformance.js';
import { startFakeClik2pay } from './support/fake-clik2pay.js';

// The client against the test's own fake (test/support/fake-clik2pay.ts), not c2p mock.
describeClientConformance('an independent fake', async () => {
  const fake = await startFakeClik2pay();
  const faults: { status: number; times: number; retryAfterS?: number; target?: string }[] = [];
  const take = (target: 'api' | 'token') => {
    const fault = faults.find((f) => (f.target ?? 'api') === target && f.times > 0);
    if (fault) fault.times -= 1;
    return fault;
  };
  const scripted =
    (target: 'api' | 'token') => (_seen: unknown, res: import('node:http').ServerResponse) => {
      const fault = take(target);
      if (fault === undefined) return false;
      res.writeHead(
        fault.status,
        fault.retryAfterS === undefined ? {} : { 'retry-after': String(fault.retryAfterS) },
      );
      res.end();
      return true;
    };
  fake.script = scripted('api');
  fake.tokenScript = scripted('token');
  const count = (token: boolean) =>
    fake.requests.filter((r) => (r.path === '/auth/token') === token).length;
  return {
    baseUrl: fake.baseUrl,
    tokenUrl: fake.tokenUrl,
    username: fake.username,
    password: fake.password,
    apiKey: fake.apiKey,
    tokenCalls: async () => count(true),
    apiCalls: async () => count(false),
    failNext: async (fault) => {
      faults.push({ ...fault });
    },
    expireTokens: async () => fake.revokeTokens(),
    pay: async (id) => fake.setStatus(id, 'PAID'),
    close: () => fake.close(),
  };
});
