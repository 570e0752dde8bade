import type { IncomingMessage, ServerResponse } from 'node:http';
import { describe, expectTypeOf, it } from 'vitest';
import type { C2pError } from '../src/index.js';
import type { WebhookBody, WebhookRequest, WebhookResponse } from '../src/kit.js';
import {
  integerOption,
  invalidOption,
  readBodyWithLimit,
  storeClosed,
  storeUnavailable,
} from '../src/kit.js';
import { fromNodeRequest, type NodeRequestOptions, writeNodeResponse } from '../src/node.js';

describe('@c2p/core/kit', () => {
  it('answers a number with a fallback, and number | undefined without', () => {
    expectTypeOf(integerOption(1, 'options.n', { fallback: 5 })).toEqualTypeOf<number>();
    expectTypeOf(integerOption(1, 'options.n')).toEqualTypeOf<number | undefined>();
    expectTypeOf(integerOption(1, 'options.n', { min: 0, pkg: '@c2p/x' })).toEqualTypeOf<
      number | undefined
    >();
  });

  it('builds C2pErrors for option and store failures', () => {
    expectTypeOf(invalidOption('options.x', 'is wrong', '@c2p/x')).toEqualTypeOf<C2pError>();
    expectTypeOf(storeUnavailable(new Error('down'))).toEqualTypeOf<C2pError>();
    expectTypeOf(storeClosed('@c2p/x')).toEqualTypeOf<C2pError>();
    // @ts-expect-error: the package is required
    storeClosed();
  });

  it('reads a Web stream or any async iterable of bytes', () => {
    expectTypeOf(readBodyWithLimit)
      .parameter(0)
      .toMatchTypeOf<
        ReadableStream<Uint8Array> | AsyncIterable<Uint8Array | string> | null | undefined
      >();
    expectTypeOf(readBodyWithLimit).returns.toEqualTypeOf<Promise<Uint8Array>>();
  });
});

describe('@c2p/core/node', () => {
  it("maps Node's request to core's, and core's response to Node's", () => {
    expectTypeOf(fromNodeRequest).parameters.toEqualTypeOf<
      [IncomingMessage, NodeRequestOptions?]
    >();
    expectTypeOf(fromNodeRequest).returns.toEqualTypeOf<WebhookRequest>();
    expectTypeOf<NodeRequestOptions['body']>().toEqualTypeOf<WebhookBody>();
    expectTypeOf(writeNodeResponse).parameters.toEqualTypeOf<
      [IncomingMessage, ServerResponse, WebhookResponse]
    >();
  });
});
