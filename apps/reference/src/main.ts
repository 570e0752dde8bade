import { X509Certificate } from 'node:crypto';
import { pino } from 'pino';
import { type App, startApp } from './app.js';
import { type Config, ConfigError, parseConfig } from './config.js';

// A bad setting is one line on stderr and exit code 1: nothing else is printed first.
let config: Config;
try {
  config = parseConfig(process.env);
} catch (error) {
  fail(error);
}

const logger = pino({ level: config.logLevel, base: { app: 'c2p-reference' } });

// Started before the signal handlers, so a signal during start-up waits for it, then stops it.
const starting = startApp(config, logger);

let stopping = false;
function shutDown(reason: string): void {
  if (stopping) {
    logger.warn({ reason }, 'second signal: exiting without waiting');
    process.exit(1);
  }
  stopping = true;
  logger.info({ reason }, 'shutting down: no new connections, finishing in-flight deliveries');
  starting
    .then((app) => app.close())
    .then(
      () => {
        logger.info('stopped');
        process.exit(0);
      },
      (error: unknown) => {
        logger.error({ err: error }, 'shutdown failed');
        process.exit(1);
      },
    );
}
for (const signal of ['SIGTERM', 'SIGINT'] as const) process.on(signal, () => shutDown(signal));
// Started by `scripts/start.mjs` (`npm start`) with an IPC channel: if that process dies,
// even by SIGKILL, the channel closes and the listener stops rather than live on orphaned.
if (process.send) process.on('disconnect', () => shutDown('parent exited'));

let running: App;
try {
  running = await starting;
} catch (error) {
  fail(error);
}

console.log(banner(config, running));
logger.info(
  {
    mode: config.production ? 'production' : 'development',
    c2pMode: config.mode,
    pid: process.pid,
    listeners: running.webhookUrls,
    admin: running.adminUrl,
    store: running.backend.description,
  },
  'ready',
);

function fail(error: unknown): never {
  const line =
    error instanceof ConfigError
      ? error.message
      : `c2p-reference failed to start: ${error instanceof Error ? error.message : String(error)}`;
  process.stderr.write(`${line.split('\n')[0]}\n`);
  process.exit(1);
}

function banner(config: Config, app: App): string {
  const lines = [
    `c2p reference listener (${config.production ? 'production' : 'development'})`,
    '',
  ];
  for (const [name, url] of Object.entries(app.webhookUrls)) {
    lines.push(`  ${name.padEnd(8)} POST ${url}`);
  }
  lines.push(`  ${'admin'.padEnd(8)} ${app.adminUrl}`);
  lines.push(`  ${'store'.padEnd(8)} ${app.backend.description}`);
  lines.push(`  ${'mode'.padEnd(8)} ${config.mode}: ${app.backend.guarantee}`);
  if (config.mode === 'inbox') {
    const { maxAttempts, baseDelayMs } = config.retry;
    const schedule =
      maxAttempts === undefined && baseDelayMs === undefined
        ? "c2p's default schedule, backoff with jitter for about three days"
        : `${maxAttempts ?? "c2p's default number of"} attempts in all, the first retry after ${baseDelayMs ?? "c2p's default"} ms, doubling`;
    lines.push(`  ${'retries'.padEnd(8)} ${schedule}; then dead (replay it on the admin page)`);
  }
  lines.push(`  ${'allowed'.padEnd(8)} ${config.allowedIps.join(', ')}`);
  const first = Object.values(app.webhookUrls)[0] as string;
  const ca = config.tls && isSelfSigned(config.tls.cert) ? ` --ca '${config.tlsCertFile}'` : '';
  const send = `npm run c2p -- send payment-completed --url ${first}${ca}`;
  lines.push('');
  if (config.generatedCredentials) {
    const { username, password } = config.credentials;
    lines.push(
      'Credentials generated for this run (set C2P_WEBHOOK_USERNAME and C2P_WEBHOOK_PASSWORD to choose your own):',
      `  username ${username}`,
      `  password ${password}`,
      '',
      'Deliver a test event (from the repository root):',
      `  C2P_WEBHOOK_USERNAME='${username}' C2P_WEBHOOK_PASSWORD='${password}' ${send}`,
    );
  } else {
    lines.push(
      'Deliver a test event (from the repository root, with C2P_WEBHOOK_USERNAME and C2P_WEBHOOK_PASSWORD exported):',
      `  ${send}`,
    );
  }
  return lines.join('\n');
}

function isSelfSigned(pem: Buffer): boolean {
  try {
    const cert = new X509Certificate(pem);
    return cert.issuer === cert.subject;
  } catch {
    return false;
  }
}
