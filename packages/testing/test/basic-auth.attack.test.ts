import { createBasicAuthVerifier, createWebhooks } from '@c2p/core';
import fc from 'fast-check';
import { expect, it } from 'vitest';
import { authorizationCases } from '../src/authorization-headers.js';
import { createEvent } from '../src/create-event.js';

// 10,000 hostile Authorization headers against core in-process (the adapter conformance
// suite sends a few hundred of the same kinds through every adapter over HTTP).
const pairs = [
  { username: 'clik2pay', password: 'conformance:s3cret' },
  { username: 'clik2pay-next', password: 'pässwörd:ünïcode' },
];
const RUNS = 10_000;

/** How a request presents its headers to core: absent, or repeated ones joined by `, `. */
function joined(headers: readonly string[]): string | undefined {
  return headers.length === 0 ? undefined : headers.join(', ');
}

function countKinds(kinds: string[]): string {
  const counts = new Map<string, number>();
  for (const kind of kinds) {
    const key = kind.replace(/ \(.*$/, '');
    counts.set(key, (counts.get(key) ?? 0) + 1);
  }
  return [...counts].map(([kind, n]) => `${kind} ${n}`).join(', ');
}

it(`lets only the configured pairs through the verifier, for ${RUNS} fuzzed headers`, () => {
  const verify = createBasicAuthVerifier({ credentials: pairs });
  const kinds: string[] = [];
  let accepted = 0;
  fc.assert(
    fc.property(authorizationCases(pairs), (c) => {
      kinds.push(c.kind);
      const result = verify(joined(c.headers));
      expect(result, c.kind).toBe(c.accept && c.headers.length === 1);
      if (result) accepted++;
    }),
    { numRuns: RUNS },
  );
  console.log(`verifier: ${kinds.length} headers, ${accepted} accepted (${countKinds(kinds)})`);
  expect(accepted).toBeGreaterThan(RUNS / 20);
});

it(`answers 200 only to the configured pairs and 401 to the rest, for ${RUNS} fuzzed headers through the pipeline`, async () => {
  const webhooks = createWebhooks({ credentials: pairs, allowedIps: ['loopback'] });
  let handled = 0;
  webhooks.onAny(() => {
    handled++;
  });
  const body = JSON.stringify([createEvent()]);
  const statuses = new Map<number, number>();
  await fc.assert(
    fc.asyncProperty(authorizationCases(pairs), async (c) => {
      const response = await webhooks.handle({
        method: 'POST',
        header: (name) => (name === 'authorization' ? joined(c.headers) : undefined),
        body,
        peerAddress: '127.0.0.1',
      });
      statuses.set(response.status, (statuses.get(response.status) ?? 0) + 1);
      expect(response.status, c.kind).toBe(c.accept && c.headers.length === 1 ? 200 : 401);
      if (response.status === 401) {
        expect(response.headers['www-authenticate']).toBe(
          'Basic realm="clik2pay", charset="UTF-8"',
        );
        expect(response.body).not.toContain(pairs[0]?.password);
      }
    }),
    { numRuns: RUNS },
  );
  console.log(`pipeline: ${JSON.stringify(Object.fromEntries(statuses))} by status`);
  expect(handled).toBe(1);
  expect(statuses.get(200)).toBeGreaterThan(RUNS / 20);
});
