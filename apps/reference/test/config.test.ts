import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { clik2payIps, createIpAllowlist } from '@c2p/core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseConfig } from '../src/config.js';
import {
  credentials,
  runToExit,
  selfSignedCertificate,
  serviceUrl,
  tempDir,
} from './support/reference.js';

const dir = tempDir();
let tls: { certFile: string; keyFile: string };
beforeAll(() => {
  tls = selfSignedCertificate(dir.path);
  writeFileSync(join(dir.path, 'not-a-cert.pem'), 'hello');
});
afterAll(() => dir.remove());

const production = { NODE_ENV: 'production', C2P_STORE: 'memory' };

// Each case: the settings, and the one line the app must print before exiting 1.
const cases: Array<[string, () => Record<string, string>, string | RegExp]> = [
  [
    'a port out of range',
    () => ({ EXPRESS_PORT: '70000' }),
    'EXPRESS_PORT: "70000" is not a port number (0-65535)',
  ],
  [
    'a port that is not a number',
    () => ({ ADMIN_PORT: 'http' }),
    'ADMIN_PORT: "http" is not a port number (0-65535)',
  ],
  [
    'two listeners on one port',
    () => ({ EXPRESS_PORT: '3101', HONO_PORT: '3101' }),
    'HONO_PORT: 3101 is already taken by EXPRESS_PORT',
  ],
  [
    'a bad IP rule',
    () => ({ C2P_ALLOWED_IPS: 'loopback,10.0.0.0/33' }),
    'C2P_ALLOWED_IPS: "10.0.0.0/33" is not an address, CIDR or preset name',
  ],
  [
    'a bad trusted proxy',
    () => ({ C2P_TRUSTED_PROXIES: 'sandbox' }),
    'C2P_TRUSTED_PROXIES: "sandbox" is not an address or CIDR',
  ],
  [
    'an unknown store',
    () => ({ C2P_STORE: 'mysql://db/x' }),
    'C2P_STORE: "mysql://db/x" is not memory, sqlite:<path>, postgres://... or redis://...',
  ],
  [
    'a store URL without a host, password hidden',
    () => ({ C2P_STORE: 'postgres://user:secret@/db' }),
    'C2P_STORE: "postgres://user:***@/db" is not memory, sqlite:<path>, postgres://... or redis://...',
  ],
  [
    'an unreachable store',
    () => ({ C2P_STORE: 'postgres://user:secret@127.0.0.1:9/db' }),
    /^C2P_STORE: cannot open "postgres:\/\/user:\*\*\*@127\.0\.0\.1:9\/db" \(.*ECONNREFUSED.*\)$/,
  ],
  [
    'an unknown listener',
    () => ({ C2P_ADAPTERS: 'express,koa' }),
    'C2P_ADAPTERS: "koa" is not one of express, fastify, hono',
  ],
  [
    'production without credentials',
    () => ({
      ...production,
      C2P_WEBHOOK_USERNAME: '',
      C2P_WEBHOOK_PASSWORD: '',
      TLS_CERT_FILE: tls.certFile,
      TLS_KEY_FILE: tls.keyFile,
    }),
    /^C2P_WEBHOOK_USERNAME: is required in production/,
  ],
  [
    'half the credentials',
    () => ({ C2P_WEBHOOK_PASSWORD: '' }),
    'C2P_WEBHOOK_PASSWORD: is required when the other credential is set',
  ],
  [
    'production without TLS',
    () => ({ ...production }),
    /^TLS_CERT_FILE: is required in production/,
  ],
  [
    'upstream TLS without trusted proxies',
    () => ({ ...production, C2P_TLS_TERMINATED_UPSTREAM: 'true' }),
    /^C2P_TRUSTED_PROXIES: is required when C2P_TLS_TERMINATED_UPSTREAM=true/,
  ],
  [
    'a TLS setting that is not a boolean',
    () => ({ C2P_TLS_TERMINATED_UPSTREAM: 'maybe' }),
    'C2P_TLS_TERMINATED_UPSTREAM: "maybe" is not true or false',
  ],
  [
    'a certificate without its key',
    () => ({ TLS_CERT_FILE: tls.certFile }),
    'TLS_KEY_FILE: is required when TLS_CERT_FILE is set',
  ],
  [
    'a key without its certificate',
    () => ({ TLS_KEY_FILE: tls.keyFile }),
    'TLS_CERT_FILE: is required when TLS_KEY_FILE is set',
  ],
  [
    'a missing certificate file',
    () => ({ TLS_CERT_FILE: '/nonexistent/cert.pem', TLS_KEY_FILE: tls.keyFile }),
    'TLS_CERT_FILE: cannot read "/nonexistent/cert.pem" (ENOENT)',
  ],
  [
    'a certificate file that is not PEM',
    () => ({ TLS_CERT_FILE: join(dir.path, 'not-a-cert.pem'), TLS_KEY_FILE: tls.keyFile }),
    /^TLS_CERT_FILE: ".*not-a-cert\.pem" is not a PEM certificate$/,
  ],
  ['an unknown log level', () => ({ LOG_LEVEL: 'loud' }), /^LOG_LEVEL: is not one of fatal, error/],
  [
    'an admin token too short to resist guessing',
    () => ({ ADMIN_TOKEN: 'short' }),
    'ADMIN_TOKEN: must be at least 16 characters, without spaces',
  ],
  [
    'a production admin off loopback without a token',
    () => ({
      ...production,
      TLS_CERT_FILE: tls.certFile,
      TLS_KEY_FILE: tls.keyFile,
      ADMIN_HOST: '0.0.0.0',
    }),
    'ADMIN_TOKEN: is required when ADMIN_HOST ("0.0.0.0") is not a loopback address: anyone who reaches it could replay events',
  ],
  [
    // Issue 23 item 4: development too; an admin on every interface without a token is refused.
    'a development admin off loopback without a token',
    () => ({ ADMIN_HOST: '0.0.0.0' }),
    'ADMIN_TOKEN: is required when ADMIN_HOST ("0.0.0.0") is not a loopback address: anyone who reaches it could replay events',
  ],
  [
    // `Production` used to mean development, and with it an unauthenticated admin on every interface.
    'a NODE_ENV that is neither production nor development',
    () => ({ NODE_ENV: 'Production', ADMIN_HOST: '0.0.0.0' }),
    'NODE_ENV: "Production" is not production, development or test',
  ],
  [
    'an unknown role',
    () => ({ C2P_ROLE: 'both' }),
    'C2P_ROLE: "both" is not all, listener or worker',
  ],
  [
    'an event cap of 0',
    () => ({ C2P_MAX_EVENTS: '0' }),
    'C2P_MAX_EVENTS: "0" is not a whole number from 1 to 100000',
  ],
  [
    'a worker concurrency of 0',
    () => ({ C2P_WORKER_CONCURRENCY: '0' }),
    'C2P_WORKER_CONCURRENCY: "0" is not a whole number from 1 to 1000',
  ],
  [
    'a handler rate without its unit',
    () => ({ C2P_HANDLER_RATE: '5' }),
    'C2P_HANDLER_RATE: "5" is not a rate such as 5/s or 30/min (1 to 1000/s)',
  ],
  [
    'a handler rate of 0',
    () => ({ C2P_HANDLER_RATE: '0/s' }),
    'C2P_HANDLER_RATE: "0/s" is not a rate such as 5/s or 30/min (1 to 1000/s)',
  ],
  [
    'a breaker that is neither a count nor off',
    () => ({ C2P_BREAKER: 'no' }),
    'C2P_BREAKER: "no" is not off or a whole number from 1 to 1000',
  ],
  [
    // fetch refuses port 4190: the app used to start, then fail every fulfilment with `bad port`.
    'a fulfilment URL on a port fetch blocks',
    () => ({ C2P_FULFIL_URL: 'http://127.0.0.1:4190/orders' }),
    'C2P_FULFIL_URL: port 4190 is one fetch refuses to call (https://fetch.spec.whatwg.org/#port-blocking); use another port',
  ],
  [
    'a fulfilment URL that is not http',
    () => ({ C2P_FULFIL_URL: 'ftp://orders.example/' }),
    'C2P_FULFIL_URL: is not an http:// or https:// URL',
  ],
  [
    'a SQLite store without its file',
    () => ({ C2P_STORE: 'sqlite' }),
    'C2P_STORE: "sqlite" is not memory, sqlite:<path>, postgres://... or redis://...; for SQLite name its file: sqlite:./data/reference.db',
  ],
  ['an unknown mode', () => ({ C2P_MODE: 'async' }), 'C2P_MODE: "async" is not inbox or sync'],
  [
    'a retry count of 0',
    () => ({ C2P_RETRY_MAX_ATTEMPTS: '0' }),
    'C2P_RETRY_MAX_ATTEMPTS: "0" is not a whole number from 1 to 1000',
  ],
  [
    'a retry delay past the 6 h cap',
    () => ({ C2P_RETRY_BASE_MS: '21600001' }),
    'C2P_RETRY_BASE_MS: "21600001" is not a whole number from 0 to 21600000',
  ],
  [
    'an unknown Redis durability',
    () => ({ C2P_REDIS_DURABILITY: 'hope' }),
    'C2P_REDIS_DURABILITY: "hope" is not verify or trust',
  ],
  [
    'an API username without its password and key',
    () => ({ C2P_API_USERNAME: 'api-user' }),
    'C2P_API_PASSWORD: is required when C2P_API_USERNAME is set (the API needs C2P_API_USERNAME, C2P_API_PASSWORD, C2P_API_KEY)',
  ],
  [
    'an API key alone',
    () => ({ C2P_API_KEY: 'key-1' }),
    'C2P_API_USERNAME: is required when C2P_API_KEY is set (the API needs C2P_API_USERNAME, C2P_API_PASSWORD, C2P_API_KEY)',
  ],
  [
    'an API base URL without its token URL',
    () => ({
      C2P_API_URL: 'http://127.0.0.1:4000/open/v1',
      C2P_API_USERNAME: 'u',
      C2P_API_PASSWORD: 'p',
      C2P_API_KEY: 'k',
    }),
    'C2P_API_TOKEN_URL: is required when C2P_API_URL is a URL',
  ],
  [
    'an API URL that is neither an environment nor a URL',
    () => ({ C2P_API_URL: 'staging' }),
    'C2P_API_URL: "staging" is not production, sandbox or an http:// or https:// URL',
  ],
  [
    'C2P_VERIFY_PAID=on without API credentials',
    () => ({ C2P_VERIFY_PAID: 'on' }),
    'C2P_VERIFY_PAID: on needs the API credentials (C2P_API_USERNAME, C2P_API_PASSWORD, C2P_API_KEY)',
  ],
  [
    'a reconcile period of 0',
    () => ({ C2P_RECONCILE_EVERY_S: '0' }),
    'C2P_RECONCILE_EVERY_S: "0" is not a whole number from 1 to 86400',
  ],
  [
    // The test Redis runs appendfsync everysec: the inbox would refuse every delivery.
    'inbox mode on a Redis that could lose acknowledged deliveries',
    () => ({ C2P_STORE: serviceUrl('C2P_TEST_REDIS_URL') }),
    // The store's own error, passed on as it is (not parsed), inside the app's line.
    /^C2P_REDIS_DURABILITY: "redis:\/\/127\.0\.0\.1:\d+\/?" fails the persistence check \(.*\(appendfsync is everysec, needs always\).*\); fix the server, or set C2P_REDIS_DURABILITY=trust to accept that, or C2P_MODE=sync$/,
  ],
];

describe('bad configuration stops start-up with one line and exit code 1', () => {
  it.concurrent.each(cases)('%s', async (_name, env, line) => {
    const { code, stdout, stderr } = await runToExit({ C2P_STORE: 'memory', ...env() });
    expect(code).toBe(1);
    expect(stdout).toBe('');
    const lines = stderr.split('\n').filter((l) => l !== '');
    expect(lines, stderr).toHaveLength(1);
    if (typeof line === 'string') expect(lines[0]).toBe(line);
    else expect(lines[0]).toMatch(line);
    expect(stderr).not.toContain('secret');
  });

  it('production lists every problem at once, one line each', async () => {
    const { code, stdout, stderr } = await runToExit({
      ...production,
      C2P_WEBHOOK_USERNAME: '',
      C2P_WEBHOOK_PASSWORD: '',
      ADMIN_HOST: '0.0.0.0',
    });
    expect(code).toBe(1);
    expect(stdout).toBe('');
    const lines = stderr.split('\n').filter((l) => l !== '');
    expect(lines.map((line) => line.slice(0, line.indexOf(':')))).toEqual([
      'TLS_CERT_FILE',
      'ADMIN_TOKEN',
      'C2P_WEBHOOK_USERNAME',
    ]);
  });

  it('a port another process holds', async () => {
    const { createServer } = await import('node:net');
    const blocker = createServer().listen(0, '127.0.0.1');
    await new Promise((done) => blocker.once('listening', done));
    const port = (blocker.address() as { port: number }).port;
    try {
      const { code, stderr } = await runToExit({
        C2P_STORE: 'memory',
        ADMIN_PORT: String(port),
      });
      expect(code).toBe(1);
      expect(stderr.trim()).toBe(`ADMIN_PORT: ${port} is already in use`);
    } finally {
      blocker.close();
    }
  });
});

describe('production with everything it needs', () => {
  it('starts behind a TLS-terminating proxy when the proxy is trusted', async () => {
    const { startReference } = await import('./support/reference.js');
    const app = await startReference({
      ...production,
      C2P_TLS_TERMINATED_UPSTREAM: 'true',
      C2P_TRUSTED_PROXIES: '127.0.0.1/32',
      C2P_ADAPTERS: 'express',
    });
    expect(app.webhookUrls.express).toMatch(/^http:/);
    expect(app.stdout()).not.toContain('a-test-password');
    // The production default admits Clik2pay's production addresses only: not this machine.
    const { createBody, createEvent, deliver } = await import('@c2p/testing');
    const refused = await deliver({
      url: app.webhookUrls.express,
      ...credentials,
      body: createBody(createEvent()),
      attempts: 1,
    });
    expect(refused.attempts[0]?.status).toBe(403);
    expect(await app.stop()).toBe(0);
  });
});

describe('the default allowlists', () => {
  const productionEnv = {
    NODE_ENV: 'production',
    C2P_WEBHOOK_USERNAME: 'clik2pay',
    C2P_WEBHOOK_PASSWORD: 'a-production-password',
    C2P_TLS_TERMINATED_UPSTREAM: 'true',
    C2P_TRUSTED_PROXIES: '10.0.0.1',
  };
  const loopback = ['127.0.0.1', '127.8.9.10', '::1', '::ffff:127.0.0.1'];

  it('in production admit Clik2pay production addresses, and neither sandbox nor loopback', () => {
    const config = parseConfig(productionEnv);
    expect(config.allowedIps).toEqual(['production']);
    const allowlist = createIpAllowlist(config.allowedIps);
    for (const address of clik2payIps.production)
      expect(allowlist.allows(address), address).toBe(true);
    for (const address of [...clik2payIps.sandbox, ...loopback, '10.0.0.1']) {
      expect(allowlist.allows(address), address).toBe(false);
    }
  });

  it('in development admit sandbox and loopback, and not production', () => {
    const config = parseConfig({});
    const allowlist = createIpAllowlist(config.allowedIps);
    for (const address of [...clik2payIps.sandbox, ...loopback])
      expect(allowlist.allows(address), address).toBe(true);
    for (const address of clik2payIps.production)
      expect(allowlist.allows(address), address).toBe(false);
  });
});

describe('roles', () => {
  const tls = { C2P_TLS_TERMINATED_UPSTREAM: 'true', C2P_TRUSTED_PROXIES: '10.0.0.1' };

  it('default to all, with 4 handler attempts in flight', () => {
    const config = parseConfig({});
    expect(config.role).toBe('all');
    expect(config.worker).toEqual({ concurrency: 4, ratePerSecond: undefined, breaker: 5 });
  });

  it('read the handler rate per second or per minute, and the breaker as a count or off', () => {
    expect(parseConfig({ C2P_HANDLER_RATE: '5/s', C2P_BREAKER: 'off' }).worker).toEqual({
      concurrency: 4,
      ratePerSecond: 5,
      breaker: false,
    });
    expect(parseConfig({ C2P_HANDLER_RATE: '30/min', C2P_BREAKER: '3' }).worker).toMatchObject({
      ratePerSecond: 0.5,
      breaker: 3,
    });
  });

  it('let a production worker start without webhook credentials, and no other role', () => {
    const worker = parseConfig({ NODE_ENV: 'production', C2P_ROLE: 'worker', ...tls });
    expect(worker.role).toBe('worker');
    for (const role of ['all', 'listener']) {
      expect(() => parseConfig({ NODE_ENV: 'production', C2P_ROLE: role, ...tls })).toThrow(
        /^C2P_WEBHOOK_USERNAME: is required in production/,
      );
    }
  });

  it('check no webhook port of a worker, which opens none', () => {
    const clash = { EXPRESS_PORT: '3000', C2P_WORKER_CONCURRENCY: '12' };
    expect(() => parseConfig(clash)).toThrow('EXPRESS_PORT: 3000 is already taken by ADMIN_PORT');
    expect(parseConfig({ ...clash, C2P_ROLE: 'worker' }).worker.concurrency).toBe(12);
  });
});

describe('the Payment Requests API settings', () => {
  const credentials = { C2P_API_USERNAME: 'api-user', C2P_API_PASSWORD: 'p', C2P_API_KEY: 'k' };

  it('are off by default: no API, no reconciler, no verification; 300 s and 60 s', () => {
    const config = parseConfig({});
    expect([config.api, config.verifyPaid]).toEqual([undefined, false]);
    expect(config.reconcile).toEqual({ afterMs: 300_000, everyMs: 60_000 });
  });

  it('name an environment, or a base URL with its token URL', () => {
    expect(parseConfig({ ...credentials, C2P_API_URL: 'sandbox' }).api).toEqual({
      environment: 'sandbox',
      baseUrl: undefined,
      tokenUrl: undefined,
      username: 'api-user',
      password: 'p',
      apiKey: 'k',
    });
    const local = parseConfig({
      ...credentials,
      C2P_API_URL: 'http://127.0.0.1:4000/open/v1',
      C2P_API_TOKEN_URL: 'http://127.0.0.1:4000/oauth2/token',
      C2P_RECONCILE_AFTER_S: '3',
      C2P_RECONCILE_EVERY_S: '1',
      C2P_VERIFY_PAID: 'on',
    });
    expect(local.api).toMatchObject({
      environment: undefined,
      baseUrl: 'http://127.0.0.1:4000/open/v1',
      tokenUrl: 'http://127.0.0.1:4000/oauth2/token',
    });
    expect([local.reconcile, local.verifyPaid]).toEqual([{ afterMs: 3_000, everyMs: 1_000 }, true]);
  });
});
