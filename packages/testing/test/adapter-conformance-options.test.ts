import { describe, expect, it } from 'vitest';
import {
  type AdapterConformanceOptions,
  describeAdapterConformance,
} from '../src/adapter-conformance.js';

const start: AdapterConformanceOptions['start'] = async () => {
  throw new Error('never started: the options are refused first');
};
const refusal = (limitations: unknown): (() => void) => {
  return () =>
    describeAdapterConformance('refused', {
      start,
      limitations: limitations as AdapterConformanceOptions['limitations'],
    });
};

describe('describeAdapterConformance options', () => {
  it('refuses a limitation for a case that has no documented one, naming the option path', () => {
    expect(refusal({ 'size-declared': { reason: 'why' } })).toThrow(
      "[@c2p/testing] options.limitations['size-declared']: is not a case with a documented limitation (slow-unauthenticated, body-hostile)",
    );
  });

  it('refuses a limitation without its reason, or body-hostile without its reading', () => {
    expect(refusal({ 'slow-unauthenticated': { reason: ' ' } })).toThrow(
      "[@c2p/testing] options.limitations['slow-unauthenticated'].reason: must say why, as a non-empty string",
    );
    expect(refusal({ 'slow-unauthenticated': 'a string, not an object' })).toThrow(
      "options.limitations['slow-unauthenticated'].reason",
    );
    expect(refusal({ 'body-hostile': { reason: 'decoded first' } })).toThrow(
      "[@c2p/testing] options.limitations['body-hostile'].reading: must be a function of the bytes sent",
    );
  });
});
