import { createMemoryInbox } from '@c2p/core';
import { describeInboxConformance } from '../src/inbox-conformance.js';

// The reference semantics: every other inbox must answer exactly as this one does.
describeInboxConformance('memory', {
  durable: false,
  createInbox: ({ now, retainMs }) => createMemoryInbox({ now, retainMs }),
});

// The same inbox on the real clock, so the suite's waiting form (Redis's) is itself tested.
describeInboxConformance('memory, real clock', {
  durable: false,
  clock: 'real',
  shortMs: 200,
  createInbox: ({ retainMs }) => createMemoryInbox({ retainMs }),
});
