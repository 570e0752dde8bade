import { describe, expect, it } from 'vitest';
import { isC2pError } from '../src/errors.js';
import {
  appendInboxHistory,
  checkInboxSearch,
  inboxCursor,
  inboxCursorId,
  inboxDefaults,
  matchesInboxFilter,
  replayableInboxFilter,
} from '../src/kit.js';

// The search helpers every inbox shares; the conformance suite holds the stores to them.

const messageOf = (run: () => unknown): string => {
  try {
    run();
  } catch (error) {
    if (isC2pError(error, 'INVALID_OPTIONS')) return error.message;
    throw error;
  }
  throw new Error('expected INVALID_OPTIONS');
};

describe('inbox search helpers', () => {
  it('round-trips a cursor and refuses one no inbox wrote, naming query.after', () => {
    expect(inboxCursorId(inboxCursor('42'))).toBe('42');
    expect(inboxCursorId(null)).toBeNull();
    expect(inboxCursorId(undefined)).toBeNull();
    for (const bad of ['42', 'c2p.', 'c2p.0', 'c2p.4x', 'c2p.-1', 'x'.repeat(30)]) {
      expect(messageOf(() => inboxCursorId(bad))).toMatch(/^\[@c2p\/core\] query\.after: /);
    }
  });

  it('applies the default limit and names each bad field', () => {
    expect(checkInboxSearch({})).toMatchObject({ limit: inboxDefaults.listLimit, afterId: null });
    expect(messageOf(() => checkInboxSearch({ limit: 0 }))).toContain('query.limit');
    expect(messageOf(() => checkInboxSearch({ state: 'gone' as 'dead' }))).toContain('query.state');
    expect(messageOf(() => checkInboxSearch({ receivedSince: 1.5 }))).toContain(
      'query.receivedSince',
    );
    expect(messageOf(() => checkInboxSearch({ key: '' }))).toContain('query.key');
    expect(messageOf(() => checkInboxSearch({ ids: [1] as unknown as string[] }))).toContain(
      'query.ids',
    );
  });

  it('replays dead events only, naming filter.state otherwise', () => {
    expect(replayableInboxFilter({ eventType: 'X' })).toEqual({ eventType: 'X', state: 'dead' });
    expect(messageOf(() => replayableInboxFilter({ state: 'processed' }))).toContain(
      'filter.state',
    );
  });

  it('matches every field it names, the time window inclusive then exclusive', () => {
    const entry = {
      id: '7',
      key: 'k',
      resourceKey: 'payment-request:1',
      eventType: 'PAYMENT-COMPLETED',
      payload: '{}',
      receivedAt: 1000,
      clientIp: null,
      state: 'dead' as const,
      attempts: 1,
      nextAttemptAt: null,
      lastError: null,
      processedAt: null,
    };
    expect(matchesInboxFilter(entry, { receivedSince: 1000, receivedBefore: 1001 })).toBe(true);
    expect(matchesInboxFilter(entry, { receivedBefore: 1000 })).toBe(false);
    expect(matchesInboxFilter(entry, { ids: ['7'], state: 'dead', key: 'k' })).toBe(true);
    expect(matchesInboxFilter(entry, { resourceKey: 'payment-request:2' })).toBe(false);
  });

  it('keeps the newest historyLimit items', () => {
    let history = appendInboxHistory([], { at: 0, action: 'replayed' });
    for (let at = 1; at <= 60; at++)
      history = appendInboxHistory(history, { at, action: 'replayed' });
    expect(history).toHaveLength(inboxDefaults.historyLimit);
    expect(history[0]?.at).toBe(11);
  });
});
