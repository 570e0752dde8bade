import { destination, pino } from 'pino';
import { type App, startApp } from './app.js';
import { banner } from './banner.js';
import { type Config, ConfigError, parseConfig } from './config.js';
import { loadDevelopmentCredentials } from './development-credentials.js';

// A bad configuration is one line per problem on stderr and exit code 1: nothing else is printed first.
let config: Config;
try {
  config = parseConfig(process.env, { developmentCredentials: loadDevelopmentCredentials });
} catch (error) {
  fail(error);
}

// One stream for the log lines and the banner, so the banner comes after every line
// logged before it. (Flushing pino, then writing to process.stdout, let the banner
// overtake the "ready" line once, beside busy loops, when the pipe was full.)
const out = destination({ dest: 1, sync: false });
const logger = pino({ level: config.logLevel, base: { app: 'c2p-reference' } }, out);

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
// Last, after the start-up log lines, so it is what the screen shows; and again on demand.
const printBanner = (): void => {
  out.write(`${banner(config, running)}\n`);
};
// Listening before the banner says `kill -USR2`: a signal sent the moment it appears
// would otherwise find no handler and end the process (seen beside busy loops).
process.on('SIGUSR2', printBanner);
printBanner();

function fail(error: unknown): never {
  // A configuration problem is one line per problem; anything else, its first line.
  const lines =
    error instanceof ConfigError
      ? error.message
      : `c2p-reference failed to start: ${error instanceof Error ? error.message : String(error)}`.split(
          '\n',
        )[0];
  process.stderr.write(`${lines}\n`);
  process.exit(1);
}
