import { describe, expect, it } from 'vitest';
import { isC2pError } from '../src/errors.js';
import {
  countInboxStates,
  createDurabilityCheck,
  inboxDefaults,
  inboxDurability,
  inboxRetention,
  inboxSelectList,
  inboxStateList,
  inboxStateLiterals,
  isUnfinishedInboxState,
  tableNameOption,
  toInboxEntry,
  unfinishedInboxStates,
} from '../src/kit.js';

// What every inbox shares, from @c2p/core/kit: each store reads these instead of
// writing the facts again, so these tests pin the facts themselves.

const messageOf = (fn: () => unknown): string => {
  try {
    fn();
  } catch (error) {
    if (isC2pError(error)) return error.message;
    throw error;
  }
  throw new Error('did not throw');
};

describe('inbox defaults and options', () => {
  it('holds each default once', () => {
    expect(inboxDefaults).toEqual({
      retainMs: 2_592_000_000,
      sweepBatch: 1000,
      listLimit: 50,
      listLimitMax: 500,
      historyLimit: 50,
      durabilityCheckMs: 10_000,
    });
  });

  it('applies the retention defaults and names the option and package of a bad value', () => {
    expect(inboxRetention({}, '@c2p/x')).toEqual({ retainMs: 2_592_000_000, sweepBatch: 1000 });
    expect(inboxRetention({ retainMs: 5, sweepBatch: 7 })).toEqual({ retainMs: 5, sweepBatch: 7 });
    expect(messageOf(() => inboxRetention({ retainMs: 0 }, '@c2p/x'))).toBe(
      '[@c2p/x] options.retainMs: must be a positive integer',
    );
    expect(messageOf(() => inboxRetention({ sweepBatch: 1.5 }))).toBe(
      '[@c2p/core] options.sweepBatch: must be a positive integer',
    );
  });

  it('applies the durability defaults, allows a check every time, and refuses other modes', () => {
    expect(inboxDurability({})).toEqual({ durability: 'verify', durabilityCheckMs: 10_000 });
    expect(inboxDurability({ durability: 'trust', durabilityCheckMs: 0 })).toEqual({
      durability: 'trust',
      durabilityCheckMs: 0,
    });
    expect(messageOf(() => inboxDurability({ durability: 'maybe' as 'trust' }, '@c2p/x'))).toBe(
      `[@c2p/x] options.durability: must be 'verify' or 'trust'`,
    );
    expect(messageOf(() => inboxDurability({ durabilityCheckMs: -1 }))).toBe(
      '[@c2p/core] options.durabilityCheckMs: must be a non-negative integer',
    );
  });
});

describe('inbox states in SQL and Lua', () => {
  it('quotes each state, lists them for IN and CHECK, and knows the unfinished ones', () => {
    expect(inboxStateLiterals).toEqual({
      pending: "'pending'",
      retrying: "'retrying'",
      dead: "'dead'",
      processed: "'processed'",
      resolved: "'resolved'",
    });
    expect(inboxStateList()).toBe("'pending', 'retrying', 'dead', 'processed', 'resolved'");
    expect(inboxStateList(unfinishedInboxStates)).toBe("'pending', 'retrying'");
    expect(
      ['pending', 'retrying', 'dead', 'processed', 'resolved', 'other'].map(isUnfinishedInboxState),
    ).toEqual([true, true, false, false, false, false]);
  });

  it('counts every state, zero where no row names it, adding rows of one state', () => {
    expect(countInboxStates([])).toEqual({
      pending: 0,
      retrying: 0,
      dead: 0,
      processed: 0,
      resolved: 0,
    });
    expect(
      countInboxStates([
        { state: 'dead', count: 2 },
        { state: 'pending', count: 1 },
        { state: 'pending', count: 1 },
      ]),
    ).toEqual({ pending: 2, retrying: 0, dead: 2, processed: 0, resolved: 0 });
  });
});

describe('the inbox row', () => {
  it('selects every column under its field name, optionally qualified', () => {
    expect(inboxSelectList()).toBe(
      'id, key, resource_key AS "resourceKey", event_type AS "eventType", payload, received_at AS "receivedAt", client_ip AS "clientIp", state, attempts, next_attempt_at AS "nextAttemptAt", last_error AS "lastError", processed_at AS "processedAt"',
    );
    expect(inboxSelectList('e').split(', ').slice(0, 3)).toEqual([
      'e.id',
      'e.key',
      'e.resource_key AS "resourceKey"',
    ]);
  });

  const row = {
    id: 7,
    key: 'k',
    resourceKey: 'payment-request:A',
    eventType: 'PAYMENT-COMPLETED',
    payload: '{}',
    receivedAt: '1000',
    state: 'retrying' as const,
    attempts: '2',
    nextAttemptAt: '5000',
  };

  it('maps numbers given as text, ids to text and absent fields to null', () => {
    expect(toInboxEntry(row)).toEqual({
      id: '7',
      key: 'k',
      resourceKey: 'payment-request:A',
      eventType: 'PAYMENT-COMPLETED',
      payload: '{}',
      receivedAt: 1000,
      clientIp: null,
      state: 'retrying',
      attempts: 2,
      nextAttemptAt: 5000,
      lastError: null,
      processedAt: null,
    });
    expect(toInboxEntry({ ...row, clientIp: '::1', lastError: 'x', processedAt: 0 })).toMatchObject(
      { clientIp: '::1', lastError: 'x', processedAt: 0 },
    );
  });

  it('keeps nextAttemptAt only for an unfinished event', () => {
    expect(toInboxEntry({ ...row, state: 'pending' }).nextAttemptAt).toBe(5000);
    expect(toInboxEntry({ ...row, state: 'dead' }).nextAttemptAt).toBeNull();
    expect(toInboxEntry({ ...row, state: 'processed' }).nextAttemptAt).toBeNull();
  });
});

describe('tableNameOption', () => {
  const rule = { path: 'options.table', fallback: 'c2p_inbox', pkg: '@c2p/x' };

  it('answers the fallback, or a name of letters, digits and _ up to maxLength', () => {
    expect(tableNameOption(undefined, rule)).toBe('c2p_inbox');
    expect(tableNameOption('_T1', rule)).toBe('_T1');
    expect(tableNameOption('a'.repeat(63), rule)).toBe('a'.repeat(63));
    expect(tableNameOption('a'.repeat(41), { ...rule, maxLength: 41 })).toBe('a'.repeat(41));
  });

  it('refuses anything else, naming the path, the package and the length', () => {
    for (const bad of ['', '1abc', 'a-b', 'a b', 'ä', 'x"; DROP', 42]) {
      expect(messageOf(() => tableNameOption(bad, rule))).toBe(
        `[@c2p/x] options.table: "${String(bad)}" must be 1 to 63 letters, digits or _, not starting with a digit`,
      );
    }
    expect(messageOf(() => tableNameOption('a'.repeat(64), rule))).toContain('must be 1 to 63');
    expect(messageOf(() => tableNameOption('a'.repeat(42), { ...rule, maxLength: 41 }))).toContain(
      'must be 1 to 41',
    );
  });
});

describe('createDurabilityCheck', () => {
  const counted = (outcomes: Array<'pass' | 'fail'>) => {
    let calls = 0;
    const verify = async (): Promise<void> => {
      const outcome = outcomes[calls++] ?? 'pass';
      if (outcome === 'fail') throw new Error('weak');
    };
    return { verify, calls: () => calls };
  };

  it('shares one run among concurrent calls and reuses a pass until it is maxAgeMs old', async () => {
    const { verify, calls } = counted([]);
    const check = createDurabilityCheck(verify, { maxAgeMs: 60_000 });
    await Promise.all([check(), check(), check()]);
    await check();
    expect(calls()).toBe(1);
    const always = counted([]);
    const every = createDurabilityCheck(always.verify, { maxAgeMs: 0 });
    await every();
    await every();
    expect(always.calls()).toBe(2);
  });

  it('checks again after a failure, and when the epoch changes', async () => {
    const { verify, calls } = counted(['fail', 'pass', 'pass']);
    let epoch = 1;
    const check = createDurabilityCheck(verify, { maxAgeMs: 60_000, epoch: () => epoch });
    await expect(check()).rejects.toThrow('weak');
    await check();
    await check();
    expect(calls()).toBe(2);
    epoch = 2;
    await check();
    expect(calls()).toBe(3);
  });

  it('checks again once a pass is maxAgeMs old', async () => {
    const { verify, calls } = counted([]);
    const check = createDurabilityCheck(verify, { maxAgeMs: 30 });
    await check();
    await new Promise((resolve) => setTimeout(resolve, 40));
    await check();
    expect(calls()).toBe(2);
  });
});
