// The order system the reference app's handlers call (`C2P_FULFIL_URL`) in the
// benches that start the app: notes when each order's first call arrived and
// how many calls it got, and answers 200 after `delayMs`.
import { createServer } from 'node:http';

export async function startOrderSystem({ delayMs = 0 } = {}) {
  /** Each order's first call, `performance.now()`. */
  const calledAt = new Map();
  /** Calls per order: more than one is a repeat. */
  const calls = new Map();
  const server = createServer((request, response) => {
    let text = '';
    request.setEncoding('utf8');
    request.on('data', (chunk) => {
      text += chunk;
    });
    request.on('end', () => {
      const at = performance.now();
      try {
        const { orderId } = JSON.parse(text);
        if (!calledAt.has(orderId)) calledAt.set(orderId, at);
        calls.set(orderId, (calls.get(orderId) ?? 0) + 1);
      } catch {}
      const answer = () => {
        response.writeHead(200, { 'content-type': 'application/json' });
        response.end('{}');
      };
      if (delayMs > 0) setTimeout(answer, delayMs);
      else answer();
    });
  });
  // Workers keep their connections between calls: never closed under them.
  server.keepAliveTimeout = 60_000;
  await new Promise((done) => server.listen(0, '127.0.0.1', done));
  return {
    url: `http://127.0.0.1:${server.address().port}/fulfil`,
    calledAt,
    calls,
    close: () => new Promise((done) => server.close(done)),
  };
}
