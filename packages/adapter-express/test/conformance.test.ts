import { once } from 'node:events';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Webhooks } from '@c2p/core';
import type { WebhookBody } from '@c2p/core/kit';
import {
  type AdapterConformanceLimitations,
  conformanceServerOptions,
  describeAdapterConformance,
} from '@c2p/testing/adapter-conformance';
import express5 from 'express';
import express4 from 'express4';
import { createExpressHandler } from '../src/index.js';

type Parser = 'none' | 'json' | 'raw' | 'text';
const path = '/webhooks/clik2pay';
// Above the suite's largest raised maxBodyBytes, so core, not the parser, sets the limit.
const limit = '32mb';

// Parsers answer every content type here, so the adapter really receives what each one leaves.
// They run in the webhook's own route, as the README shows, so their errors reach the adapter.
function listen(express: typeof express5, parser: Parser, webhooks: Webhooks) {
  const app = express();
  const handler = createExpressHandler(webhooks);
  if (parser === 'none') app.all(path, handler);
  if (parser === 'json') app.all(path, express.json({ limit, type: () => true }), handler);
  if (parser === 'raw') app.all(path, express.raw({ limit, type: () => true }), handler);
  if (parser === 'text') app.all(path, express.text({ limit, type: () => true }), handler);
  return start(createServer(conformanceServerOptions, app).listen(0, '127.0.0.1'));
}

async function start(server: ReturnType<typeof createServer>) {
  await once(server, 'listening');
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}${path}`,
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}

// What each parser mounted before the adapter changes, asserted by the suite instead of the
// case it breaks (the adapter's README says the same): the whole body is read before any check,
// and a decoding parser hands core its reading of the bytes, not the bytes.
const readFirst = {
  reason:
    'a body parser mounted before the adapter reads the whole body before any check: mount the handler first (see the README)',
};
const decoded = (bytes: Uint8Array): string => new TextDecoder().decode(bytes);
const decodedFirst =
  'a parser that decodes the body to text or JSON first hands core its reading of the bytes, not the bytes (lossy UTF-8, JSON re-serialised)';

// express.text(): the bytes as UTF-8 text, each invalid sequence a U+FFFD.
function textReading(bytes: Uint8Array): WebhookBody {
  return decoded(bytes);
}

// express.json(): an object or array (strict) parsed from that text and re-serialised by the
// adapter; text it refuses reaches core through the parser's error, as the text; a value too
// deep to re-serialise as a body that cannot be read.
function jsonReading(bytes: Uint8Array): WebhookBody {
  const text = decoded(bytes);
  let parsed: unknown;
  try {
    if (!/^[ \t\n\r]*[[{]/.test(text)) return text;
    parsed = JSON.parse(text);
  } catch {
    return text;
  }
  try {
    return JSON.stringify(parsed);
  } catch {
    return async () => {
      throw new Error('the parsed body cannot be re-serialised');
    };
  }
}

const limitations: Record<Parser, AdapterConformanceLimitations> = {
  none: {},
  raw: { 'slow-unauthenticated': readFirst },
  json: {
    'slow-unauthenticated': readFirst,
    'body-hostile': { reason: decodedFirst, reading: jsonReading },
  },
  text: {
    'slow-unauthenticated': readFirst,
    'body-hostile': { reason: decodedFirst, reading: textReading },
  },
};

for (const [version, express] of [
  ['express 5', express5],
  ['express 4', express4],
] as const) {
  for (const parser of ['none', 'json', 'raw', 'text'] as const) {
    describeAdapterConformance(`${version}, body parser: ${parser}`, {
      start: (webhooks) => listen(express, parser, webhooks),
      limitations: limitations[parser],
    });
  }
}
