import { X509Certificate } from 'node:crypto';
import type { App } from './app.js';
import { type Config, redactUrl } from './config.js';

function isSelfSigned(pem: Buffer): boolean {
  try {
    const cert = new X509Certificate(pem);
    return cert.issuer === cert.subject;
  } catch {
    return false;
  }
}

function retries(config: Config): string {
  const { maxAttempts, baseDelayMs } = config.retry;
  const schedule =
    maxAttempts === undefined && baseDelayMs === undefined
      ? "c2p's default schedule, backoff with jitter for about three days"
      : `${maxAttempts ?? "c2p's default number of"} attempts in all, the first retry after ${baseDelayMs ?? "c2p's default"} ms, doubling`;
  return `${schedule}; then dead (replay it on the admin page)`;
}

/** How to deliver a test event with the credentials in use. */
function howToSend(config: Config, app: App): string[] {
  const first = Object.values(app.webhookUrls)[0];
  if (first === undefined) {
    return [
      'This process is a worker (C2P_ROLE=worker): it runs handlers from the inbox and opens no webhook port.',
      'Deliveries go to the listener processes (C2P_ROLE=listener or all) on the same C2P_STORE.',
    ];
  }
  const ca = config.tls && isSelfSigned(config.tls.cert) ? ` --ca '${config.tlsCertFile}'` : '';
  const send = `npm run c2p -- send payment-completed --url ${first}${ca}`;
  if (!config.generatedCredentials) {
    return [
      'Deliver a test event (from the repository root, with C2P_WEBHOOK_USERNAME and C2P_WEBHOOK_PASSWORD exported):',
      `  ${send}`,
    ];
  }
  const { username, password } = config.credentials;
  const kept = config.credentialsFile
    ? `generated once and kept in ${config.credentialsFile} (mode 0600; delete it for new ones)`
    : 'generated for this run';
  return [
    `Credentials ${kept}; set C2P_WEBHOOK_USERNAME and C2P_WEBHOOK_PASSWORD to choose your own:`,
    `  username ${username}`,
    `  password ${password}`,
    '',
    'Deliver a test event (from the repository root):',
    `  C2P_WEBHOOK_USERNAME='${username}' C2P_WEBHOOK_PASSWORD='${password}' ${send}`,
  ];
}

/**
 * The start-up banner: where everything listens and how to try it. Printed
 * after the start-up log lines, so it is the last thing on the screen, and
 * again on `SIGUSR2`.
 */
export function banner(config: Config, app: App): string {
  const line = (name: string, text: string): string => `  ${name.padEnd(8)} ${text}`;
  const lines = [
    `c2p reference listener (${config.production ? 'production' : 'development'})`,
    '',
  ];
  if (config.role !== 'all') lines.push(line('role', `${config.role} (C2P_ROLE)`));
  for (const [name, url] of Object.entries(app.webhookUrls)) lines.push(line(name, `POST ${url}`));
  lines.push(line('admin', app.adminUrl));
  lines.push(line('store', app.backend.description));
  lines.push(line('mode', `${config.mode}: ${app.backend.guarantee}`));
  if (config.mode === 'inbox' && config.role !== 'listener')
    lines.push(line('retries', retries(config)));
  if (config.role === 'listener') lines.push(line('worker', 'none here (C2P_ROLE=listener)'));
  lines.push(line('allowed', config.allowedIps.join(', ')));
  lines.push(
    line(
      'fulfil',
      config.fulfilUrl ? `POST ${redactUrl(config.fulfilUrl)}` : 'none (C2P_FULFIL_URL)',
    ),
  );
  for (const [name, text] of apiLines(config)) lines.push(line(name, text));
  lines.push('', ...howToSend(config, app));
  lines.push('', `Print this again: kill -USR2 ${process.pid}`);
  return lines.join('\n');
}

/** With the API settings: where the reconciler reads, how often, and whether PAIDs are checked. */
function apiLines(config: Config): Array<[string, string]> {
  const { api } = config;
  if (api === undefined || config.role === 'listener') return [];
  const where = api.baseUrl === undefined ? `the ${api.environment} API` : redactUrl(api.baseUrl);
  const { afterMs, everyMs } = config.reconcile;
  return [
    [
      'api',
      `reconciles every ${everyMs / 1000} s, expected payments unsettled after ${afterMs / 1000} s, from ${where}`,
    ],
    [
      'verify',
      config.verifyPaid ? 'a PAID fulfils only once the API confirms it' : 'off (C2P_VERIFY_PAID)',
    ],
  ];
}
