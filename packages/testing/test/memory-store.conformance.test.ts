import { createMemoryStore } from '@c2p/core';
import { describeStoreConformance } from '../src/store-conformance.js';

// The reference semantics: every other store must answer exactly as this one does.
describeStoreConformance('memory', {
  clock: 'injected',
  createStore: ({ now }) => createMemoryStore({ now }),
});
