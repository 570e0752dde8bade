// Server instructions per request of each adapter beside its bare framework, which
// do not move with the machine's load (adapters.bench.mjs's CPU times swing with it):
// runs adapter-server.mjs under valgrind's callgrind, sends it WARM requests and
// then N, 2N or 3N from autocannon in this process (outside valgrind), stops it, and
// prints the median of the per-request differences, so start-up and warm-up cancel
// out and a one-off (a major GC in one run) cannot move the figure.
// Prints figures; asserts nothing. Needs valgrind (Debian: apt-get install valgrind).
// Run: npm run pnpm -- --filter @c2p/bench adapters-instructions
// `--smoke`: each server without valgrind, a few requests, to check the cases still run.
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import autocannon from 'autocannon';

const smoke = process.argv.includes('--smoke');
const N = smoke ? 20 : Number(process.env.BENCH_REQUESTS ?? 1000);
const WARM = smoke ? 0 : 1000;
const frameworks = (process.env.BENCH_FRAMEWORKS ?? 'express,fastify,hono').split(',');
const authorization = `Basic ${Buffer.from('clik2pay:correct horse battery staple').toString('base64')}`;
const server = fileURLToPath(new URL('./adapter-server.mjs', import.meta.url));

let next = 0;
const body = () =>
  `[{"message":"The payer successfully completed the transaction.","eventType":"PAYMENT-COMPLETED","resourceType":"payment-request","resource":{"id":"8ecd810d-c0e2-40a6-8ab9-${String(++next).padStart(12, '0')}","merchantTransactionId":null,"amount":1.0,"type":"EBILL","status":"PAID","deliveryMode":"SMS","merchant":{"id":"a7815ec3-72cd-4efe-b809-28f14501a5d3","name":"Merchant name"},"payer":{"name":"firstName lastName"}}}]`;

const children = new Set();
process.on('exit', () => {
  for (const child of children) child.kill('SIGKILL'); // never leave a server behind
});

/** The server's instructions after WARM and then `count` requests. */
async function instructions(framework, mode, count) {
  const node = [
    // One thread (V8's background compiler and GC threads would make counts vary), and
    // a young generation of fixed size, so scavenges follow the bytes allocated.
    '--single-threaded',
    // Fixed seeds: string hashes are the same in every run.
    '--hash-seed=1',
    '--random-seed=1',
    '--min-semi-space-size=16',
    '--max-semi-space-size=16',
    server,
    framework,
    mode,
  ];
  const child = smoke
    ? spawn(process.execPath, node, { stdio: ['ignore', 'pipe', 'pipe'] })
    : spawn(
        'valgrind',
        ['--tool=callgrind', '--callgrind-out-file=/dev/null', process.execPath, ...node],
        { stdio: ['ignore', 'pipe', 'pipe'] },
      );
  children.add(child);
  let stderr = '';
  child.stderr.on('data', (chunk) => {
    stderr += chunk;
  });
  const [line] = await once(createInterface({ input: child.stdout }), 'line');
  const { port } = JSON.parse(line);
  const answered = (WARM > 0 ? await send(port, WARM) : 0) + (await send(port, count));
  child.kill('SIGTERM');
  await once(child, 'exit');
  children.delete(child);
  if (smoke) return { instructions: 0, answered };
  const match = /refs:\s+([\d,]+)/.exec(stderr);
  if (!match) throw new Error(`valgrind printed no count for ${framework} ${mode}:\n${stderr}`);
  return { instructions: Number(match[1].replaceAll(',', '')), answered };
}

/** A count, or a dash in a smoke run (nothing was counted). */
function figure(count) {
  return smoke ? '–' : Math.round(count).toLocaleString('en');
}

function median(values) {
  return [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)];
}

async function send(port, amount) {
  const result = await autocannon({
    url: `http://127.0.0.1:${port}/webhooks/clik2pay`,
    connections: 10,
    amount,
    timeout: 60,
    requests: [
      {
        method: 'POST',
        headers: { authorization, 'content-type': 'application/json' },
        setupRequest: (request) => ({ ...request, body: body() }),
      },
    ],
  });
  if (result.non2xx > 0) throw new Error(`${result.non2xx} of ${amount} answers were not 2xx`);
  // A connection error under valgrind's slowness is rare; the count divides by the
  // requests actually answered, and says how many were not.
  if (result.errors + result.timeouts > 0) {
    console.log(`  (${result.errors + result.timeouts} of ${amount} requests failed)`);
  }
  return result['2xx'];
}

if (!smoke) {
  const probe = spawn('valgrind', ['--version'], { stdio: 'ignore' });
  const [code] = await once(probe, 'exit').catch(() => [1]);
  if (code !== 0) {
    console.error('valgrind is not installed (Debian: apt-get install valgrind)');
    process.exit(1);
  }
}
console.log(
  `node ${process.version}, ${WARM} warm-up requests, then ${N}, ${2 * N} or ${3 * N}, unique events, 10 connections`,
);
console.log('framework   bare instructions/req   c2p instructions/req   bare/c2p');
for (const framework of frameworks) {
  const per = {};
  for (const mode of ['bare', 'c2p']) {
    // Three runs, and the median of the three per-request differences: a one-off
    // (a major GC falling in one run) cannot move the figure.
    const runs = [];
    for (const times of [1, 2, 3]) runs.push(await instructions(framework, mode, times * N));
    const slope = (a, b) => (b.instructions - a.instructions) / (b.answered - a.answered);
    per[mode] = median([slope(runs[0], runs[1]), slope(runs[1], runs[2]), slope(runs[0], runs[2])]);
  }
  const ratio = smoke ? '(smoke)' : `${((100 * per.bare) / per.c2p).toFixed(0)}%`;
  console.log(
    [
      framework.padEnd(10),
      figure(per.bare).padStart(23),
      figure(per.c2p).padStart(23),
      ratio.padStart(11),
    ].join(''),
  );
}
