import type { Clik2payMock, Clik2payMockOptions } from '../../create-clik2pay-mock.js';
import { createClik2payMock } from '../../create-clik2pay-mock.js';
import { OptionError } from '../../option-error.js';
import type { CliIo } from '../cli-io.js';
import { print } from '../cli-io.js';
import { parseCommandArgs } from '../parse-args.js';
import { UsageError } from '../usage-error.js';

/** `c2p mock --help`. */
export const mockHelp = `Usage: c2p mock [options]

Runs a local stand-in for Clik2pay on 127.0.0.1, until stopped (Ctrl-C):
  POST /oauth2/token                         the token endpoint (Basic, client_credentials)
  POST /open/v1/payment-requests             create a payment request
  GET  /open/v1/payment-requests/{id}        read one
  POST /_mock/payment-requests/{id}/pay      settle it (also /fail, /refund) and deliver the
                                             webhook as Clik2pay does: three attempts, Basic
                                             auth; body {"dropWebhook": true} drops it
  POST /_mock/faults                         {"status": 429, "times": 3, "retryAfterS": 2,
                                             "target": "api"|"token"}: the next calls fail
  POST /_mock/tokens/expire                  every token issued so far stops working
  GET  /_mock/stats                          {"tokenCalls", "apiCalls", "faults"}

Options:
  --port <n>               port (default 4000; 0 picks a free one)
  --webhook-url <url>      where webhooks go (none: settling delivers nothing)
  --drop-webhooks          settle without delivering any webhook
  --api-username <name>    API username the token endpoint accepts (default: any)
  --api-password <secret>  API password it accepts (default: any)
  --api-key <key>          x-api-key the API accepts (default: any non-empty)
  --token-ttl <s>          tokens' expires_in (default 3600)
  -h, --help               show this help

Webhooks carry the Basic credentials C2P_WEBHOOK_USERNAME and C2P_WEBHOOK_PASSWORD,
as c2p send does.`;

const mockOptions = {
  port: { type: 'string' },
  'webhook-url': { type: 'string' },
  'drop-webhooks': { type: 'boolean' },
  'api-username': { type: 'string' },
  'api-password': { type: 'string' },
  'api-key': { type: 'string' },
  'token-ttl': { type: 'string' },
  help: { type: 'boolean', short: 'h' },
} as const;

/** What `c2p mock` reads besides {@link CliIo}: a signal that stops it (tests pass one). */
export interface MockIo extends CliIo {
  signal?: AbortSignal;
}

/** `c2p mock [options]`: a local Clik2pay on loopback until stopped. */
export async function mock(args: string[], io: MockIo): Promise<number> {
  const { flags, positionals } = parseCommandArgs('mock', args, {
    options: mockOptions,
    env: io.env,
  });
  if (flags.has('help')) {
    print(io, mockHelp);
    return 0;
  }
  if (positionals.length > 0)
    throw new UsageError(`unexpected argument '${positionals[0]}' (see c2p mock --help)`);
  const port = flags.text('port');
  if (port !== undefined && !/^\d+$/.test(port))
    throw new UsageError(`--port: "${port}" is not a port number`);
  const optional = (flag: string): string | undefined => flags.text(flag);
  const server = await startMock({
    port: port === undefined ? 4000 : Number(port),
    tokenTtlS: flags.count('token-ttl', 3600),
    dropWebhooks: flags.has('drop-webhooks'),
    ...defined({
      webhookUrl: optional('webhook-url'),
      apiUsername: optional('api-username'),
      apiPassword: optional('api-password'),
      apiKey: optional('api-key'),
      webhookUsername: io.env.C2P_WEBHOOK_USERNAME || undefined,
      webhookPassword: io.env.C2P_WEBHOOK_PASSWORD || undefined,
    }),
    onLog: (line) => print(io, line),
  });
  print(
    io,
    `c2p mock: Clik2pay on ${server.url} (API ${server.baseUrl}, token ${server.tokenUrl})`,
  );
  await new Promise<void>((resolve) => {
    if (io.signal?.aborted) resolve();
    io.signal?.addEventListener('abort', () => resolve(), { once: true });
  });
  await server.close();
  return 0;
}

/** The flag behind each option `c2p mock` fills, to name it when the library refuses one. */
const flagOfOption: Readonly<Record<string, string>> = {
  'options.port': '--port',
  'options.tokenTtlS': '--token-ttl',
  'options.webhookUrl': '--webhook-url',
  'options.apiUsername': '--api-username',
  'options.apiPassword': '--api-password',
};

/** {@link createClik2payMock}, its option errors named by flag. */
async function startMock(options: Clik2payMockOptions): Promise<Clik2payMock> {
  try {
    return await createClik2payMock(options);
  } catch (error) {
    if (!(error instanceof OptionError)) throw error;
    throw new UsageError(`${flagOfOption[error.path] ?? error.path}: ${error.problem}`);
  }
}

function defined(values: Record<string, string | undefined>): Record<string, string> {
  return Object.fromEntries(
    Object.entries(values).filter((entry): entry is [string, string] => entry[1] !== undefined),
  );
}
