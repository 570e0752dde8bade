import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describeRateGateConformance } from '@c2p/testing/rate-gate-conformance';
import { afterAll, expect, it } from 'vitest';
import { createSqliteRateGate } from '../src/index.js';

const dir = mkdtempSync(join(tmpdir(), 'c2p-sqlite-rate-gate-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
const database = join(dir, 'gates.db');

// Each reserver opens the file with a connection of its own, as another process would.
describeRateGateConformance('sqlite', {
  createGate: ({ name, perSecond, marginMs }) =>
    createSqliteRateGate({ database, name, perSecond, marginMs }),
});

it('refuses a bad table name naming the option', () => {
  expect(() => createSqliteRateGate({ database, table: 'no-dash', perSecond: 1 })).toThrow(
    '[@c2p/store-sqlite] options.table',
  );
});
