// @c2p/api in the runtime under test: GET /smoke?clik2pay=<url> runs the client, with the
// runtime's own fetch, against the harness's fake Clik2pay (./api-cases.mjs) and answers
// what it read. Runtime-neutral: each api-*.mjs only serves it.
import { createClik2payClient, isC2pApiError } from '@c2p/api';

export async function handleSmoke(request) {
  const clik2pay = new URL(request.url).searchParams.get('clik2pay');
  if (clik2pay === null) return new Response('no clik2pay= given', { status: 400 });
  const client = createClik2payClient({
    username: 'e2e-user',
    password: 'e2e pa:ss wörd',
    apiKey: 'e2e-key',
    baseUrl: `${clik2pay}/open/v1`,
    tokenUrl: `${clik2pay}/oauth2/token`,
    retry: { baseDelayMs: 10 },
  });
  try {
    const { id } = await client.createPaymentRequest({
      amount: 12.5,
      merchantTransactionId: 'e2e-order-1',
      type: 'ECOMM',
      deliveryMode: 'NONE',
      payer: { name: 'e2e' },
    });
    const read = await client.getPaymentRequest(id); // the fake answers 429 first
    const missing = await client.getPaymentRequest('missing').catch((error) => error);
    return Response.json({
      id,
      status: read.status,
      amount: read.amount,
      missing: isC2pApiError(missing) ? missing.code : String(missing),
    });
  } catch (error) {
    return Response.json(
      { error: `${error?.code ?? ''} ${error?.message ?? error}` },
      { status: 500 },
    );
  }
}
