// Micro-benchmark of core's whole decision for one event: allowlist, Basic
// auth, parse, memory claim and complete. The targets are ratios to JSON.parse of
// the same body (a new event at most 2.0, a duplicate at most 1.5): the three are
// timed in interleaved batches, so the machine's load falls on all of them alike,
// and each ratio is the median of the per-batch ratios. bench/README.md says where
// it stands. Prints figures; asserts nothing. Run: npm run pnpm -- --filter @c2p/bench core
// `--smoke` runs a few small batches (CI: the script still runs).
import {
  createBasicAuthVerifier,
  createIpAllowlist,
  createMemoryStore,
  createWebhooks,
  encodeBasicAuth,
  parseEvents,
} from '@c2p/core';

const smoke = process.argv.includes('--smoke');
const BATCH = smoke ? 100 : 1_000;
const BATCHES = smoke ? 5 : 200;
const authorization = encodeBasicAuth('clik2pay', 'correct horse battery staple');
const credentials = { username: 'clik2pay', password: 'correct horse battery staple' };

// The documented example's shape, with a fresh id per delivery so every one is processed.
const body = (i) =>
  `[{"message":"The payer successfully completed the transaction.","eventType":"PAYMENT-COMPLETED","resourceType":"payment-request","resource":{"id":"8ecd810d-c0e2-40a6-8ab9-${String(i).padStart(12, '0')}","merchantTransactionId":null,"amount":1.0,"type":"EBILL","status":"PAID","deliveryMode":"SMS","merchant":{"id":"a7815ec3-72cd-4efe-b809-28f14501a5d3","name":"Merchant name"},"payer":{"name":"firstName lastName"}}}]`;
const bodies = Array.from({ length: BATCH * (BATCHES + 10) }, (_, i) => body(i));
const headers = { authorization, 'content-type': 'application/json' };
const request = (i) => ({
  method: 'POST',
  header: (name) => headers[name],
  body: bodies[i],
  peerAddress: '3.99.39.224',
});

async function measure(name, run) {
  for (let i = 0; i < BATCH * 5; i++) await run(i % bodies.length); // warm-up
  globalThis.gc?.();
  const perCall = [];
  for (let b = 0; b < BATCHES; b++) {
    const start = process.hrtime.bigint();
    for (let i = b * BATCH; i < (b + 1) * BATCH; i++) await run(i);
    perCall.push(Number(process.hrtime.bigint() - start) / BATCH / 1000);
  }
  perCall.sort((x, y) => x - y);
  const at = (q) => perCall[Math.min(perCall.length - 1, Math.floor(q * perCall.length))];
  console.log(
    `${name.padEnd(44)} median ${at(0.5).toFixed(2).padStart(6)} µs   p90 ${at(0.9).toFixed(2).padStart(6)} µs`,
  );
  return at(0.5);
}

console.log(
  `node ${process.version}, ${BATCHES} batches of ${BATCH} calls, per-call time per batch`,
);
const webhooks = createWebhooks({
  credentials,
  allowedIps: ['production'],
  store: createMemoryStore(),
});
webhooks.on('PAYMENT-COMPLETED', () => {});
const dupes = createWebhooks({ credentials, allowedIps: ['production'] });
dupes.on('PAYMENT-COMPLETED', () => {});
await dupes.handle(request(0));

// JSON.parse, a new event and a duplicate, batch by batch in turn.
const sides = {
  json: (i) => JSON.parse(bodies[i]),
  new: (i) => webhooks.handle(request(i)),
  duplicate: () => dupes.handle(request(0)),
};
const offsets = { json: 0, new: 0, duplicate: 0 };
async function batchOf(name) {
  const run = sides[name];
  const from = offsets[name];
  offsets[name] = (from + BATCH) % bodies.length;
  const start = process.hrtime.bigint();
  for (let i = from; i < from + BATCH; i++) {
    const response = await run(i);
    if (name !== 'json' && response.status !== 200) throw new Error(`status ${response.status}`);
  }
  return Number(process.hrtime.bigint() - start) / BATCH / 1000;
}
for (let w = 0; w < 5; w++) for (const name of Object.keys(sides)) await batchOf(name); // warm-up
globalThis.gc?.();
const times = { json: [], new: [], duplicate: [] };
const ratios = { new: [], duplicate: [] };
for (let b = 0; b < BATCHES; b++) {
  const json = await batchOf('json');
  times.json.push(json);
  for (const name of ['new', 'duplicate']) {
    const t = await batchOf(name);
    times[name].push(t);
    ratios[name].push(t / json);
  }
}
const median = (values) => values.slice().sort((x, y) => x - y)[Math.floor(values.length / 2)];
console.log(`interleaved: JSON.parse, a new event, a duplicate, ${BATCHES} batches of each`);
console.log(
  `${'JSON.parse of the same body'.padEnd(44)} median ${median(times.json).toFixed(2).padStart(6)} µs`,
);
const limits = { new: 2.0, duplicate: 1.5 };
for (const name of ['new', 'duplicate']) {
  const label = name === 'new' ? 'handle(): one new event, end to end' : 'handle(): a duplicate';
  const ratio = median(ratios[name]);
  console.log(
    `${label.padEnd(44)} median ${median(times[name]).toFixed(2).padStart(6)} µs   ${ratio.toFixed(2)}× JSON.parse (target ${limits[name]}: ${ratio <= limits[name] ? 'met' : 'NOT met'})`,
  );
}
console.log('\neach step alone:');
const whole = median(times.new);

const allowlist = createIpAllowlist(['production', 'sandbox', '10.0.0.0/8']);
await measure('allowlist: exact address (fast path)', () => allowlist.allows('3.99.39.224'));
await measure('allowlist: CIDR match', () => allowlist.allows('10.1.2.3'));
const verify = createBasicAuthVerifier({ credentials });
await measure('Basic auth verify', () => verify(authorization));
await measure('JSON.parse alone (the floor under parsing)', (i) => JSON.parse(bodies[i]));
await measure('parseEvents (documented example)', (i) => parseEvents(bodies[i]));
const store = createMemoryStore();
await measure('memory store claim + complete', async (i) => {
  const claim = await store.claim(`k${i}`, 60_000);
  await store.complete(`k${i}`, claim.token, 60_000);
});
console.log(
  `\nbudget: median under 5 µs for the whole decision -> ${whole < 5 ? 'within' : 'OVER'} (${whole.toFixed(2)} µs)`,
);
