import { expect, it } from 'vitest';
import * as main from '../src/index.js';
import * as kit from '../src/kit.js';
import * as node from '../src/node.js';

// Each entry's values, listed on purpose: a new export is a decision, made here and in the README.
it('exports from @c2p/core exactly what users need', () => {
  expect(Object.keys(main).sort()).toEqual([
    'C2pError',
    'clik2payIps',
    'createBasicAuthVerifier',
    'createClientIpResolver',
    'createHandlers',
    'createIpAllowlist',
    'createMemoryInbox',
    'createMemoryRateGate',
    'createMemoryStore',
    'createRetrySchedule',
    'createWebhooks',
    'defaultIdempotencyKey',
    'encodeBasicAuth',
    'errorCodes',
    'eventTypes',
    'inboxStates',
    'isC2pError',
    'isKnownEvent',
    'isKnownEventType',
    'parseEvents',
    'readInboxHealth',
    'retryScheduleDefaults',
    'startInboxWorker',
    'verifyBasicAuth',
    'wakeInboxWorkers',
  ]);
});

it('exports from @c2p/core/kit the helpers of adapter and store authors', () => {
  expect(Object.keys(kit).sort()).toEqual([
    'appendInboxHistory',
    'bodySchema',
    'canonicalIpAddress',
    'checkInboxFilter',
    'checkInboxSearch',
    'countInboxStates',
    'createDurabilityCheck',
    'eventSchema',
    'fromWebRequest',
    'inboxAttemptItem',
    'inboxColumns',
    'inboxCursor',
    'inboxCursorId',
    'inboxDefaults',
    'inboxDurability',
    'inboxRetention',
    'inboxSelectList',
    'inboxStateList',
    'inboxStateLiterals',
    'integerOption',
    'invalidOption',
    'isTransactionalInbox',
    'isTransactionalStore',
    'isUnfinishedInboxState',
    'isWireEvent',
    'matchesInboxFilter',
    'parseIpAddress',
    'rateGateIntervalUs',
    'readBodyWithLimit',
    'replayableInboxFilter',
    'resolveResourceKind',
    'resourceSchema',
    'storeClosed',
    'storeUnavailable',
    'sweptInboxStates',
    'tableNameOption',
    'toEvent',
    'toInboxEntry',
    'toWebResponse',
    'unfinishedInboxStates',
  ]);
});

it("exports from @c2p/core/node only Node's request and response mapping", () => {
  expect(Object.keys(node).sort()).toEqual(['fromNodeRequest', 'writeNodeResponse']);
});

it('keeps node: imports out of the main entry and the kit', async () => {
  const { readFile, readdir } = await import('node:fs/promises');
  const dir = new URL('../src/', import.meta.url);
  const nodeOnly = new Set(['node.ts', 'node-request.ts', 'node-response.ts']);
  for (const file of await readdir(dir)) {
    if (nodeOnly.has(file) || !file.endsWith('.ts')) continue;
    const text = await readFile(new URL(file, dir), 'utf8');
    expect({ file, imports: text.match(/from 'node:[^']+'/g) ?? [] }).toEqual({
      file,
      imports: [],
    });
  }
});
