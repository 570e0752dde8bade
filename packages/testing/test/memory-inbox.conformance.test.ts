import { createMemoryInbox } from '@c2p/core';
import { describeInboxConformance } from '../src/inbox-conformance.js';

describeInboxConformance('memory', {
  durable: false,
  createInbox: ({ now, retainMs }) => createMemoryInbox({ now, retainMs }),
});
