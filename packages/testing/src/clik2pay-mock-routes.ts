import type { IncomingMessage } from 'node:http';
import type { Clik2payMockState, MockFault, MockSettlement } from './clik2pay-mock-state.js';
import type { MockSettleResult } from './create-clik2pay-mock.js';

/** A response the router decided. */
export interface MockAnswer {
  status: number;
  body: unknown;
  headers?: Record<string, string>;
}

/** What the routes need from the mock. */
export interface RouterContext {
  state: Clik2payMockState;
  settings: {
    tokenTtlS: number;
    apiKey?: string;
    verifyBasic: (authorization: string | undefined) => boolean;
  };
  settle(
    id: string,
    action: MockSettlement,
    control: { dropWebhook?: boolean },
  ): Promise<MockSettleResult | { conflict: string }>;
}

type Route = (
  req: IncomingMessage,
  body: string,
  match: RegExpExecArray,
) => Promise<MockAnswer> | MockAnswer;

const json = (status: number, body: unknown, headers?: Record<string, string>): MockAnswer => ({
  status,
  body,
  ...(headers === undefined ? {} : { headers }),
});

/**
 * The mock's routes: Clik2pay's (token, create, read) answered as the
 * documentation says, and the `/_mock` control routes.
 */
export function createRouter(
  context: RouterContext,
): (req: IncomingMessage, body: string) => Promise<MockAnswer> {
  const routes: [string, RegExp, Route][] = [
    ['POST', /^\/oauth2\/token$/, (req, body) => token(context, req, body)],
    [
      'POST',
      /^\/open\/v1\/payment-requests$/,
      (req, body) => api(context, req, () => create(context, body)),
    ],
    [
      'GET',
      /^\/open\/v1\/payment-requests\/([^/]+)$/,
      (req, _b, m) => api(context, req, () => read(context, m)),
    ],
    [
      'POST',
      /^\/_mock\/payment-requests\/([^/]+)\/(pay|fail|refund)$/,
      (_r, body, m) => settle(context, body, m),
    ],
    ['POST', /^\/_mock\/faults$/, (_r, body) => addFault(context, body)],
    [
      'POST',
      /^\/_mock\/tokens\/expire$/,
      () => {
        context.state.expireTokens();
        return json(200, { expired: true });
      },
    ],
    ['GET', /^\/_mock\/stats$/, () => json(200, context.state.stats)],
  ];
  return async (req, body) => {
    const path = new URL(req.url ?? '/', 'http://mock').pathname;
    for (const [method, pattern, route] of routes) {
      const match = pattern.exec(path);
      if (match === null) continue;
      if (req.method !== method)
        return json(405, { message: 'Method Not Allowed' }, { allow: method });
      return route(req, body, match);
    }
    return json(404, { message: 'Not Found' });
  };
}

function faultAnswer(context: RouterContext, target: 'api' | 'token'): MockAnswer | undefined {
  const fault = context.state.takeFault(target);
  if (fault === undefined) return undefined;
  const headers = fault.retryAfterS >= 0 ? { 'retry-after': String(fault.retryAfterS) } : undefined;
  return json(
    fault.status,
    { message: fault.status === 429 ? 'Too Many Requests' : 'Internal Server Error' },
    headers,
  );
}

/** The OAuth 2 client-credentials grant, as Clik2pay's token endpoint takes it. */
function token(context: RouterContext, req: IncomingMessage, body: string): MockAnswer {
  context.state.stats.tokenCalls += 1;
  const fault = faultAnswer(context, 'token');
  if (fault !== undefined) return fault;
  if (!context.settings.verifyBasic(req.headers.authorization)) {
    return json(401, { error: 'invalid_client' });
  }
  if (!(req.headers['content-type'] ?? '').startsWith('application/x-www-form-urlencoded')) {
    return json(400, { error: 'invalid_request' });
  }
  const form = new URLSearchParams(body);
  if (form.get('grant_type') !== 'client_credentials') {
    return json(400, { error: 'unsupported_grant_type' });
  }
  if (form.get('scope') !== 'payment_request/all') return json(400, { error: 'invalid_scope' });
  const ttl = context.settings.tokenTtlS;
  return json(200, {
    access_token: context.state.issueToken(ttl),
    expires_in: ttl,
    token_type: 'Bearer',
  });
}

/** An API call: fault, then `x-api-key` (403), then the Bearer token (401), then the route. */
function api(context: RouterContext, req: IncomingMessage, next: () => MockAnswer): MockAnswer {
  context.state.stats.apiCalls += 1;
  const fault = faultAnswer(context, 'api');
  if (fault !== undefined) return fault;
  const key = req.headers['x-api-key'];
  const expected = context.settings.apiKey;
  if (typeof key !== 'string' || key === '' || (expected !== undefined && key !== expected)) {
    return json(403, { message: 'Forbidden' });
  }
  const bearer = /^Bearer (\S+)$/i.exec(req.headers.authorization ?? '')?.[1];
  if (bearer === undefined || !context.state.isValidToken(bearer)) {
    return json(401, { message: 'Unauthorized' });
  }
  return next();
}

function create(context: RouterContext, body: string): MockAnswer {
  const parsed = parseJson(body);
  const outcome = context.state.create(parsed);
  if ('problems' in outcome) return json(400, { message: 'Bad Request', errors: outcome.problems });
  return json(201, outcome.created);
}

function read(context: RouterContext, match: RegExpExecArray): MockAnswer {
  const found = context.state.get(decodeURIComponent(match[1] ?? ''));
  return found === undefined ? json(404, { message: 'Not Found' }) : json(200, found);
}

async function settle(
  context: RouterContext,
  body: string,
  match: RegExpExecArray,
): Promise<MockAnswer> {
  const control = body.trim() === '' ? {} : parseJson(body);
  if (typeof control !== 'object' || control === null || Array.isArray(control)) {
    return json(400, { message: 'the body must be empty or a JSON object' });
  }
  const { dropWebhook } = control as { dropWebhook?: unknown };
  if (dropWebhook !== undefined && typeof dropWebhook !== 'boolean') {
    return json(400, { message: 'dropWebhook must be true or false' });
  }
  const id = decodeURIComponent(match[1] ?? '');
  const outcome = await context.settle(id, match[2] as MockSettlement, {
    ...(dropWebhook === undefined ? {} : { dropWebhook }),
  });
  if ('conflict' in outcome) {
    const { conflict } = outcome;
    return conflict === 'not-found'
      ? json(404, { message: 'Not Found' })
      : json(409, { message: `cannot ${match[2]}: ${conflict}` });
  }
  return json(200, outcome);
}

function addFault(context: RouterContext, body: string): MockAnswer {
  const fault = parseJson(body) as MockFault | undefined;
  if (typeof fault !== 'object' || fault === null) {
    return json(400, {
      message: 'the body must be a JSON object: { status, times?, retryAfterS?, target? }',
    });
  }
  try {
    context.state.addFault(fault);
  } catch (error) {
    return json(400, { message: error instanceof Error ? error.message : String(error) });
  }
  return json(200, { queued: fault });
}

function parseJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}
