// Throughput of each adapter beside its bare framework, measured in one run:
// the same POST of a documented-example-shaped event, a fresh resource id per
// request (so c2p processes every one rather than answering duplicates), from
// autocannon in this process against a server in a child process.
// Both client and server share this machine's cores, so req/s is partly the
// client's; the server's CPU time per request is the figure that decides a
// saturated server's throughput, and bare/c2p of it is the share c2p keeps.
// Prints figures; asserts nothing. Run: npm run pnpm -- --filter @c2p/bench adapters
// `--smoke`: one 1-second round per framework and mode, no warm-up (CI: every server
// still starts and answers 2xx).
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import autocannon from 'autocannon';

const smoke = process.argv.includes('--smoke');
const SECONDS = smoke ? 1 : Number(process.env.BENCH_SECONDS ?? 5);
const CONNECTIONS = 20;
const ROUNDS = smoke ? 1 : 2; // bare and c2p alternate, so drift hits both alike
const authorization = `Basic ${Buffer.from('clik2pay:correct horse battery staple').toString('base64')}`;
const server = fileURLToPath(new URL('./adapter-server.mjs', import.meta.url));

let next = 0;
const body = () =>
  `[{"message":"The payer successfully completed the transaction.","eventType":"PAYMENT-COMPLETED","resourceType":"payment-request","resource":{"id":"8ecd810d-c0e2-40a6-8ab9-${String(++next).padStart(12, '0')}","merchantTransactionId":null,"amount":1.0,"type":"EBILL","status":"PAID","deliveryMode":"SMS","merchant":{"id":"a7815ec3-72cd-4efe-b809-28f14501a5d3","name":"Merchant name"},"payer":{"name":"firstName lastName"}}}]`;

const children = new Set();
process.on('exit', () => {
  for (const child of children) child.kill(); // never leave a server behind, even on a throw
});

async function start(framework, mode) {
  const child = spawn(process.execPath, [server, framework, mode], {
    stdio: ['ignore', 'pipe', 'inherit', 'ipc'],
  });
  children.add(child);
  const [line] = await once(createInterface({ input: child.stdout }), 'line');
  return { child, port: JSON.parse(line).port };
}

async function load(port) {
  const result = await autocannon({
    url: `http://127.0.0.1:${port}/webhooks/clik2pay`,
    connections: CONNECTIONS,
    duration: SECONDS,
    requests: [
      {
        method: 'POST',
        headers: { authorization, 'content-type': 'application/json' },
        setupRequest: (request) => ({ ...request, body: body() }),
      },
    ],
  });
  const bad = result.non2xx + result.errors + result.timeouts;
  if (bad > 0) throw new Error(`${bad} requests were not answered 2xx`);
  return { rps: result.requests.average, p50: result.latency.p50, p99: result.latency.p99 };
}

async function usage(child) {
  child.send('usage');
  const [{ cpu, requests }] = await once(child, 'message');
  return { cpuUs: cpu.user + cpu.system, requests };
}

async function measure(framework, mode) {
  const { child, port } = await start(framework, mode);
  if (!smoke) await load(port); // warm-up, discarded
  const before = await usage(child);
  const figures = await load(port);
  const after = await usage(child);
  child.kill('SIGTERM');
  await once(child, 'exit');
  return {
    ...figures,
    cpuPerRequest: (after.cpuUs - before.cpuUs) / (after.requests - before.requests),
  };
}

console.log(
  `node ${process.version}, ${CONNECTIONS} connections, ${SECONDS} s per run, ${ROUNDS} rounds, unique events, memory store retaining ${process.env.BENCH_RETAIN_MS ?? 1000} ms`,
);
console.log(
  'framework   bare req/s   c2p req/s   c2p/bare   server CPU µs/req bare  c2p   bare/c2p',
);
for (const framework of ['express', 'fastify', 'hono']) {
  const bare = [];
  const c2p = [];
  for (let round = 0; round < ROUNDS; round++) {
    bare.push(await measure(framework, 'bare'));
    c2p.push(await measure(framework, 'c2p'));
  }
  const mean = (runs, field = 'rps') =>
    runs.reduce((sum, run) => sum + run[field], 0) / runs.length;
  const cpuBare = mean(bare, 'cpuPerRequest');
  const cpuC2p = mean(c2p, 'cpuPerRequest');
  const pct = (x, y) => `${((100 * x) / y).toFixed(0)}%`;
  console.log(
    [
      framework.padEnd(10),
      mean(bare).toFixed(0).padStart(11),
      mean(c2p).toFixed(0).padStart(11),
      pct(mean(c2p), mean(bare)).padStart(10),
      cpuBare.toFixed(0).padStart(24),
      cpuC2p.toFixed(0).padStart(5),
      pct(cpuBare, cpuC2p).padStart(10),
    ].join(''),
  );
}
