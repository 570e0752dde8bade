/**
 * `@c2p/core/node`: Node's `IncomingMessage` to core's request, and core's
 * response to Node's `ServerResponse`, for adapters on Node's HTTP server.
 * @packageDocumentation
 */
export { fromNodeRequest, type NodeRequestOptions } from './node-request.js';
export { writeNodeResponse } from './node-response.js';
