#!/usr/bin/env node
// scripts/services.mjs as two checkouts use it one after the other, on servers of
// its own (other ports, temporary checkouts), never the ones the tests run against:
// - a run answers which servers it started, and stopping those frees the ports;
// - a checkout that finds the ports held by another, existing checkout refuses;
// - servers left behind by a deleted checkout are stopped and replaced.

import { execFileSync, spawnSync } from 'node:child_process';
import { cpSync, mkdirSync, rmSync } from 'node:fs';
import { createConnection } from 'node:net';
import { join } from 'node:path';
import { assert, assertEqual, createReport, root, tempDir } from './lib.mjs';

const report = createReport('services');
const env = {
  ...process.env,
  C2P_SERVICES_POSTGRES_PORT: '54339',
  C2P_SERVICES_REDIS_PORT: '63809',
};
const ports = [54339, 63809];

/** A checkout holding only scripts/, which is all services.mjs needs. */
function checkout(name) {
  const dir = join(tempDir(`services-${name}`), 'c2p');
  mkdirSync(join(dir, 'scripts'), { recursive: true });
  for (const file of ['services.mjs']) {
    cpSync(join(root, 'scripts', file), join(dir, 'scripts', file));
  }
  return dir;
}

/** Runs `ensureServices()` in a checkout; answers what it printed and started. */
function ensure(dir) {
  const script = `import { ensureServices } from ${JSON.stringify(join(dir, 'scripts', 'services.mjs'))};
const { started } = await ensureServices();
console.log('STARTED ' + JSON.stringify(started));`;
  const result = spawnSync(process.execPath, ['--input-type=module', '-e', script], {
    env,
    encoding: 'utf8',
  });
  const started = /^STARTED (.*)$/m.exec(result.stdout)?.[1];
  return {
    status: result.status,
    output: `${result.stdout}${result.stderr}`,
    started: started ? JSON.parse(started) : undefined,
  };
}

function stop(dir) {
  execFileSync(process.execPath, [join(dir, 'scripts', 'services.mjs'), 'stop'], {
    env,
    stdio: 'pipe',
  });
}

const listening = (port) =>
  new Promise((done) => {
    const socket = createConnection({ host: '127.0.0.1', port });
    socket.on('connect', () => {
      socket.destroy();
      done(true);
    });
    socket.on('error', () => done(false));
  });

async function assertPorts(expected, what) {
  const open = await Promise.all(ports.map(listening));
  assertEqual(open, [expected, expected], `${what}: ports ${ports.join(', ')} listening`);
}

const first = checkout('first');
const second = checkout('second');
try {
  await report.check('ports free before the test', () => assertPorts(false, 'before'));
  await report.check('a checkout starts both servers and says it started them', async () => {
    const run = ensure(first);
    assert(run.status === 0, run.output);
    assertEqual(run.started, ['postgres', 'redis'], 'started');
    await assertPorts(true, 'after start');
  });
  await report.check('starting again in the same checkout starts nothing', () => {
    const run = ensure(first);
    assert(run.status === 0, run.output);
    assertEqual(run.started, [], 'started');
  });
  await report.check("another existing checkout refuses the first one's servers", () => {
    const run = ensure(second);
    assert(run.status !== 0, `it succeeded:\n${run.output}`);
    assert(/belongs to .*first/.test(run.output), `no owner named:\n${run.output}`);
  });
  await report.check('stopping what was started frees the ports', async () => {
    stop(first);
    await assertPorts(false, 'after stop');
  });
  await report.check(
    'a deleted checkout leaves orphans: the next one stops and replaces them',
    async () => {
      const again = ensure(first);
      assert(again.status === 0, again.output);
      rmSync(first, { recursive: true, force: true });
      const run = ensure(second);
      assert(run.status === 0, run.output);
      assert(/no longer exists: stopping it/.test(run.output), `no orphan stopped:\n${run.output}`);
      assertEqual(run.started, ['postgres', 'redis'], 'started');
      stop(second);
      await assertPorts(false, 'after the second stop');
    },
  );
} finally {
  for (const dir of [first, second]) {
    try {
      stop(dir);
    } catch {}
  }
  rmSync(join(first, '..'), { recursive: true, force: true });
  rmSync(join(second, '..'), { recursive: true, force: true });
}
report.finish();
