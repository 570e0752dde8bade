// Memory at full load with the default retention (30 days): a stream of new
// events, as fast as one process takes them, through createWebhooks with the
// default memory store (sync mode), then with the memory inbox and its worker
// (inbox mode), each in a fresh child process for 60 s. Prints RSS and heap at the
// start, every 10 s and at the end: they must level off, since the memory store
// and the memory inbox bound themselves. Prints figures; asserts nothing.
// Run: npm run pnpm -- --filter @c2p/bench memory   (BENCH_SECONDS=120 for longer)
// `--smoke`: 2 s per mode.
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import {
  createHandlers,
  createMemoryInbox,
  createWebhooks,
  encodeBasicAuth,
  startInboxWorker,
} from '@c2p/core';

const smoke = process.argv.includes('--smoke');
const seconds = smoke ? 2 : Number(process.env.BENCH_SECONDS ?? 60);
const [, , role, mode] = process.argv;

if (role === 'child') await load(mode);
else {
  console.log(`node ${process.version}, ${seconds} s per mode, default retention, unique events`);
  for (const name of ['sync', 'inbox']) {
    const child = spawnSync(
      process.execPath,
      ['--expose-gc', fileURLToPath(import.meta.url), 'child', name, ...(smoke ? ['--smoke'] : [])],
      { stdio: 'inherit' },
    );
    if (child.status !== 0) process.exit(child.status ?? 1);
  }
}

async function load(name) {
  const authorization = encodeBasicAuth('clik2pay', 'correct horse battery staple');
  const headers = { authorization, 'content-type': 'application/json' };
  const header = (key) => headers[key];
  const inbox = name === 'inbox' ? createMemoryInbox() : undefined;
  let handled = 0;
  const handlers = createHandlers().on('PAYMENT-COMPLETED', () => {
    handled++;
  });
  const webhooks = createWebhooks({
    credentials: { username: 'clik2pay', password: 'correct horse battery staple' },
    allowedIps: ['production'],
    ...(inbox ? { inbox } : { handlers }),
  });
  const worker = inbox ? startInboxWorker({ inbox, handlers, concurrency: 16 }) : undefined;
  const mb = (bytes) => `${(bytes / 2 ** 20).toFixed(1).padStart(6)} MB`;
  const print = (label, accepted) => {
    globalThis.gc?.();
    const { rss, heapUsed } = process.memoryUsage();
    const held = inbox ? `, inbox holds ${inbox.size()}` : '';
    console.log(
      `${name.padEnd(5)} ${label.padEnd(6)} rss ${mb(rss)}  heap ${mb(heapUsed)}  ${accepted} accepted, ${handled} handled${held}`,
    );
  };
  let next = 0;
  const body = () =>
    `[{"message":"The payer successfully completed the transaction.","eventType":"PAYMENT-COMPLETED","resourceType":"payment-request","resource":{"id":"8ecd810d-c0e2-40a6-8ab9-${String(++next).padStart(12, '0')}","merchantTransactionId":null,"amount":1.0,"type":"EBILL","status":"PAID","deliveryMode":"SMS","merchant":{"id":"a7815ec3-72cd-4efe-b809-28f14501a5d3","name":"Merchant name"},"payer":{"name":"firstName lastName"}}}]`;
  print('start', 0);
  const started = Date.now();
  let accepted = 0;
  let mark = started + 10_000;
  while (Date.now() - started < seconds * 1000) {
    const response = await webhooks.handle({
      method: 'POST',
      header,
      body: body(),
      peerAddress: '3.99.39.224',
    });
    if (response.status !== 200) throw new Error(`answered ${response.status}`);
    accepted++;
    // Inbox mode: let the worker keep up (a backlog is not a leak).
    if (inbox && accepted % 64 === 0) await new Promise((resolve) => setImmediate(resolve));
    if (Date.now() >= mark) {
      print(`${Math.round((mark - started) / 1000)} s`, accepted);
      mark += 10_000;
    }
  }
  await worker?.idle();
  print('end', accepted);
  await worker?.stop();
}
