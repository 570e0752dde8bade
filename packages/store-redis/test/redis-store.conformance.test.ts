import { execFile } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { describeStoreConformance } from '@c2p/testing/store-conformance';
import { createRedisStore } from '../src/index.js';
import { serverUrl } from './server-url.js';

const url = serverUrl();
const services = fileURLToPath(new URL('../../../scripts/services.mjs', import.meta.url));

// Redis keeps time itself (PX), so the suite waits real time with short leases.
describeStoreConformance('redis', {
  clock: 'real',
  createStore: ({ prefix }) => createRedisStore({ client: url, keyPrefix: `${prefix}:` }),
  unreachable: () => createRedisStore({ client: 'redis://127.0.0.1:1', readyTimeoutMs: 500 }),
  restartServer: async () => {
    await promisify(execFile)(process.execPath, [services, 'restart', 'redis']);
  },
  crossProcess: {
    module: new URL('./fixtures/redis-child.mjs', import.meta.url),
    args: ({ prefix }) => ({ url, keyPrefix: `${prefix}:` }),
  },
});
