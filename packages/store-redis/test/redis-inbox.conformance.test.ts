import { describeInboxConformance } from '@c2p/testing/inbox-conformance';
import { createClient } from 'redis';
import { afterAll } from 'vitest';
import { createRedisInbox } from '../src/index.js';
import { serverUrl } from './server-url.js';

const url = serverUrl();
const prefixes = new Set<string>();
afterAll(async () => {
  const client = createClient({ url });
  client.on('error', () => undefined);
  await client.connect();
  for (const prefix of prefixes) {
    for await (const keys of client.scanIterator({ MATCH: `${prefix}:*`, COUNT: 1000 })) {
      if (keys.length > 0) await client.del(keys);
    }
  }
  await client.close();
});

// The test server runs `appendfsync everysec`, which the inbox refuses by
// default; test/redis-inbox.test.ts covers that check on its own server.
const unreachable = () =>
  createRedisInbox({ client: 'redis://127.0.0.1:1', readyTimeoutMs: 500, durability: 'trust' });

// The scripts read the clock the inbox is given: the suite moves it.
describeInboxConformance('redis (injected clock)', {
  durable: true,
  createInbox: ({ prefix, now, retainMs }) => {
    prefixes.add(prefix);
    return createRedisInbox({
      client: url,
      keyPrefix: `${prefix}:`,
      now,
      retainMs,
      durability: 'trust',
    });
  },
  unreachable,
});

// By default the scripts read the server's clock (TIME): the suite waits real time.
describeInboxConformance('redis (server clock)', {
  durable: true,
  clock: 'real',
  shortMs: 1_000,
  createInbox: ({ prefix, retainMs }) => {
    prefixes.add(prefix);
    return createRedisInbox({
      client: url,
      keyPrefix: `${prefix}:`,
      retainMs,
      durability: 'trust',
    });
  },
  unreachable,
});
