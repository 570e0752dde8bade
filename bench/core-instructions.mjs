// Instruction counts of core's decision, which do not move with the machine's load
// (timings on a shared machine swing ±50%): runs each case under valgrind's callgrind
// three times, with N, 2N and 3N calls after the same warm-up, and prints the median of
// the per-call differences (2N-N, 3N-2N, (3N-N)/2), so start-up, module loading and
// warm-up cancel out and a one-off (a major GC in one run) cannot move the figure.
// Prints figures; asserts nothing.
// Needs valgrind (Debian: apt-get install valgrind). Run: npm run pnpm -- --filter @c2p/bench instructions
// `--smoke` runs a few calls without valgrind, to check the cases still run.
import { spawnSync } from 'node:child_process';
import { resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

// BENCH_CORE=<a copy of packages/core/dist> measures that build instead of the
// workspace's, so two builds can be compared in one run.
const { createWebhooks, encodeBasicAuth } = await import(
  process.env.BENCH_CORE
    ? pathToFileURL(resolve(process.env.BENCH_CORE, 'index.js')).href
    : '@c2p/core'
);

const smoke = process.argv.includes('--smoke');
const N = Number(process.env.BENCH_CALLS ?? 10_000);
const WARM = 10_000;
// BENCH_CASES=json,duplicate measures some of them (the floor, json, always comes first).
const cases = (process.env.BENCH_CASES ?? 'json,new,duplicate').split(',');
const describe = {
  json: 'JSON.parse of the same body (the floor)',
  new: 'handle(): one new event, end to end',
  duplicate: 'handle(): a duplicate',
};

const [, , role, which, count] = process.argv;
if (role === 'workload') await workload(which, Number(count));
else if (smoke) for (const name of cases) await workload(name, 100);
else driver();

function driver() {
  const self = fileURLToPath(import.meta.url);
  const probe = spawnSync('valgrind', ['--version'], { encoding: 'utf8' });
  if (probe.status !== 0) {
    console.error('valgrind is not installed (Debian: apt-get install valgrind)');
    process.exit(1);
  }
  const instructions = (name, calls) => {
    const run = spawnSync(
      'valgrind',
      [
        '--tool=callgrind',
        '--callgrind-out-file=/dev/null',
        process.execPath,
        // One thread: V8's background compiler and GC threads would make counts vary;
        // a young generation of fixed size, so scavenges follow the bytes allocated.
        '--single-threaded',
        // Fixed seeds: string hashes (and so the collisions JSON.parse meets interning
        // keys) are the same in every run.
        '--hash-seed=1',
        '--random-seed=1',
        '--expose-gc',
        '--min-semi-space-size=16',
        '--max-semi-space-size=16',
        self,
        'workload',
        name,
        String(calls),
      ],
      { encoding: 'utf8', maxBuffer: 1 << 24 },
    );
    const match = /refs:\s+([\d,]+)/.exec(run.stderr);
    if (run.status !== 0 || !match) throw new Error(`valgrind failed for ${name}:\n${run.stderr}`);
    return Number(match[1].replaceAll(',', ''));
  };
  console.log(`${probe.stdout.trim()}, node ${process.version}, ${N} calls per case`);
  const per = {};
  for (const name of cases) {
    const [one, two, three] = [1, 2, 3].map((times) => instructions(name, times * N));
    per[name] = median([(two - one) / N, (three - two) / N, (three - one) / (2 * N)]);
    const ratio = name === 'json' ? '' : `   ${(per[name] / per.json).toFixed(2)}× JSON.parse`;
    console.log(
      `${describe[name].padEnd(44)} ${Math.round(per[name]).toLocaleString('en').padStart(8)} instructions${ratio}`,
    );
  }
}

function median(values) {
  return [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)];
}

async function workload(name, calls) {
  // Flat, as Node's HTTP parser hands headers over: the template string
  // encodeBasicAuth answers is a rope, whose characters cost more to read.
  const authorization = Buffer.from(
    encodeBasicAuth('clik2pay', 'correct horse battery staple'),
    'latin1',
  ).toString('latin1');
  const credentials = { username: 'clik2pay', password: 'correct horse battery staple' };
  const body = (i) =>
    `[{"message":"The payer successfully completed the transaction.","eventType":"PAYMENT-COMPLETED","resourceType":"payment-request","resource":{"id":"8ecd810d-c0e2-40a6-8ab9-${String(i).padStart(12, '0')}","merchantTransactionId":null,"amount":1.0,"type":"EBILL","status":"PAID","deliveryMode":"SMS","merchant":{"id":"a7815ec3-72cd-4efe-b809-28f14501a5d3","name":"Merchant name"},"payer":{"name":"firstName lastName"}}}]`;
  const total = WARM + calls;
  const bodies = Array.from({ length: total }, (_, i) => body(name === 'duplicate' ? 0 : i));
  const headers = { authorization, 'content-type': 'application/json' };
  const header = (n) => headers[n];
  const webhooks = createWebhooks({ credentials, allowedIps: ['production'] });
  webhooks.on('PAYMENT-COMPLETED', () => {});
  let run;
  if (name === 'json') run = (i) => JSON.parse(bodies[i]);
  else {
    run = (i) =>
      webhooks.handle({ method: 'POST', header, body: bodies[i], peerAddress: '3.99.39.224' });
  }
  let sink = 0;
  for (let i = 0; i < total; i++) {
    if (i === WARM) globalThis.gc?.(); // the measured calls start from an empty young generation
    const result = await run(i);
    if (result.status !== undefined && result.status !== 200)
      throw new Error(`status ${result.status}`);
    sink += result.length ?? 1;
  }
  if (smoke) console.log(`${name}: ${calls} calls ok`);
  return sink;
}
