import { describeRateGateConformance } from '@c2p/testing/rate-gate-conformance';
import pg from 'pg';
import { afterAll, expect, it } from 'vitest';
import { createPostgresRateGate } from '../src/index.js';
import { serverUrl } from './server-url.js';

const url = serverUrl();
const table = 'c2p_rate_gates_test';
const names = new Set<string>();

afterAll(async () => {
  const pool = new pg.Pool({ connectionString: url, max: 1 });
  await pool.query(`DELETE FROM ${table} WHERE name = ANY($1)`, [[...names]]);
  await pool.end();
});

// Each reserver opens a pool of its own, as another process would.
describeRateGateConformance('postgres', {
  createGate: async ({ name, perSecond, marginMs }) => {
    names.add(name);
    const gate = createPostgresRateGate({ connection: url, table, name, perSecond, marginMs });
    await gate.migrate();
    return gate;
  },
});

it('names the call that creates a missing table', async () => {
  const gate = createPostgresRateGate({
    connection: url,
    table: 'c2p_rate_gates_missing',
    perSecond: 1,
  });
  await expect(gate.reserve()).rejects.toThrow(
    '[@c2p/store-postgres] the table "c2p_rate_gates_missing" does not exist: run gate.migrate()',
  );
  await gate.close();
});
