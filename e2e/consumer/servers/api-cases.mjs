// The harness's side of the @c2p/api cell: a fake Clik2pay in Node that checks what the
// client sends (Basic token call, x-api-key and Bearer), answers the first read 429 with
// Retry-After: 1, and the cases that the runtime's answer and the fake's counts must meet.
import { createServer } from 'node:http';

const basic = `Basic ${Buffer.from('e2e-user:e2e pa:ss wörd').toString('base64')}`;

export async function startFakeClik2pay() {
  const seen = { token: 0, api: 0, refused: 0, retriedAfterMs: null };
  let limitedAt = null;
  const server = createServer((req, res) => {
    let body = '';
    req.on('data', (chunk) => {
      body += chunk;
    });
    req.on('end', () => {
      const send = (status, value, headers = {}) => {
        res.writeHead(status, { 'content-type': 'application/json', ...headers });
        res.end(JSON.stringify(value));
      };
      if (req.url === '/oauth2/token') {
        seen.token += 1;
        const form = new URLSearchParams(body);
        const ok =
          req.headers.authorization === basic &&
          form.get('grant_type') === 'client_credentials' &&
          form.get('scope') === 'payment_request/all';
        if (!ok) return send(401, { error: 'invalid_client' });
        return send(200, { access_token: 'e2e-token', expires_in: 3600, token_type: 'Bearer' });
      }
      seen.api += 1;
      if (
        req.headers['x-api-key'] !== 'e2e-key' ||
        req.headers.authorization !== 'Bearer e2e-token'
      ) {
        seen.refused += 1;
        return send(401, { message: 'Unauthorized' });
      }
      if (req.method === 'POST') return send(201, { id: 'pr-e2e' });
      if (req.url.endsWith('/missing')) return send(404, { message: 'Not Found' });
      if (limitedAt === null) {
        limitedAt = performance.now();
        return send(429, { message: 'slow down' }, { 'retry-after': '1' });
      }
      seen.retriedAfterMs ??= Math.round(performance.now() - limitedAt);
      return send(200, {
        id: 'pr-e2e',
        status: 'PAID',
        amount: 12.5,
        merchantTransactionId: 'e2e-order-1',
      });
    });
  });
  await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    url: `http://127.0.0.1:${server.address().port}`,
    seen,
    close: () => new Promise((resolve) => server.close(resolve)),
  };
}

/** The cases, each `[name, expected, actual]`, for a runtime serving ./api-app.mjs at `base`. */
export async function runApiCases(base) {
  const fake = await startFakeClik2pay();
  try {
    const response = await fetch(`${base}/smoke?clik2pay=${encodeURIComponent(fake.url)}`);
    const answer = await response.text();
    const { seen } = fake;
    return [
      [
        'create, read after a 429, 404',
        '200 {"id":"pr-e2e","status":"PAID","amount":12.5,"missing":"NOT_FOUND"}',
        `${response.status} ${answer}`,
      ],
      [
        'one token call, nothing refused',
        '1 token, 0 refused',
        `${seen.token} token, ${seen.refused} refused`,
      ],
      [
        '4 API calls, the retry not before Retry-After',
        '4 calls, >= 1000 ms',
        `${seen.api} calls, ${seen.retriedAfterMs >= 1000 ? '>= 1000' : seen.retriedAfterMs} ms`,
      ],
    ];
  } finally {
    await fake.close();
  }
}
