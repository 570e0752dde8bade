// The deliveries every runtime and adapter must answer identically: allowed,
// duplicate, 401, 403, 400 and 413, checked by status and body. Runs in the
// harness's Node against a server started in the runtime under test.

export const username = 'clik2pay';
export const password = 'e2e pa:ss wörd';

function event(id) {
  return [
    {
      message: 'The payer successfully completed the transaction.',
      eventType: 'PAYMENT-COMPLETED',
      resourceType: 'payment-request',
      resource: { id, amount: 1.0, type: 'EBILL', status: 'PAID', payer: { name: 'e2e' } },
    },
  ];
}

const authorization = `Basic ${Buffer.from(`${username}:${password}`).toString('base64')}`;

async function post(url, body, headers = { authorization }) {
  const response = await fetch(url, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...headers },
    body,
  });
  return { status: response.status, body: await response.text() };
}

/** The six cases, in order; each answers `[name, expected, actual]`. */
export async function runCases(base) {
  const body = JSON.stringify(event(`e2e-${Date.now()}-${Math.random()}`));
  const codeOf = (r) => `${r.status} ${safeCode(r.body)}`;
  const results = [];
  const first = await post(`${base}/allowed`, body);
  results.push([
    'allowed',
    '200 {"received":1,"processed":1,"duplicates":0}',
    `${first.status} ${first.body}`,
  ]);
  const again = await post(`${base}/allowed`, body);
  results.push([
    'duplicate',
    '200 {"received":1,"processed":0,"duplicates":1}',
    `${again.status} ${again.body}`,
  ]);
  results.push(['401', '401 UNAUTHORIZED', codeOf(await post(`${base}/allowed`, body, {}))]);
  results.push(['403', '403 IP_NOT_ALLOWED', codeOf(await post(`${base}/denied`, body))]);
  results.push(['400', '400 INVALID_JSON', codeOf(await post(`${base}/allowed`, '{"not json'))]);
  results.push([
    '413',
    '413 PAYLOAD_TOO_LARGE',
    codeOf(await post(`${base}/allowed`, 'x'.repeat(100_000))),
  ]);
  return results;
}

function safeCode(text) {
  try {
    return JSON.parse(text).error?.code ?? text;
  } catch {
    return text.slice(0, 120);
  }
}
