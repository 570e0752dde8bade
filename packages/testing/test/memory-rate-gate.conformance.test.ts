import { createMemoryRateGate, type RateGate } from '@c2p/core';
import { describeRateGateConformance } from '../src/rate-gate-conformance.js';

// A memory gate is one process's: every reserver of a name shares its one instance.
const gates = new Map<string, RateGate>();
describeRateGateConformance('memory', {
  createGate: ({ name, perSecond, marginMs }) => {
    const gate = gates.get(name) ?? createMemoryRateGate({ perSecond, marginMs });
    gates.set(name, gate);
    return gate;
  },
});
