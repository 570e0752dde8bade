import { createMemoryRateGate, type RateGate } from '@c2p/core';
import { ConfigError, redactUrl, type StoreConfig } from './config.js';

/**
 * Added to each second the rate is counted over: a start reaches the order
 * system after the lease, the transaction's first reads and the HTTP call,
 * which take longer on one start than on another. Spacing `N + 1` starts
 * 1250 ms apart keeps the order system's count within `N` in any second in
 * quiet runs (beside two busy loops, `N + 1` once in four runs). With 100 ms
 * (1100 ms), two app processes on one PostgreSQL on a 2-core machine let 6
 * calls in one second reach the order system at `5/s`, in two runs of three.
 */
export const handlerRateMarginMs = 250;

/** The app's gate (`reference_rate_gates`, `c2p-reference:rate:handlers`). */
const gateTable = 'reference_rate_gates';
const gateName = 'handlers';

/**
 * `C2P_HANDLER_RATE`: the gate every worker process of the inbox shares,
 * through the app's store (one row in PostgreSQL or the SQLite file, one key in
 * Redis); with `memory`, this process's own. A store that cannot set it up
 * stops start-up naming the setting.
 */
export async function openHandlerRateGate(
  store: StoreConfig,
  perSecond: number,
): Promise<RateGate> {
  const rate = { perSecond, marginMs: handlerRateMarginMs };
  try {
    return await open(store, rate);
  } catch (error) {
    const where =
      store.kind === 'sqlite'
        ? `sqlite:${store.path}`
        : store.kind === 'memory'
          ? 'memory'
          : redactUrl(store.url);
    const reason = error instanceof Error ? error.message : String(error);
    throw new ConfigError(
      `C2P_HANDLER_RATE: cannot set up the shared rate gate in "${where}" (${reason})`,
    );
  }
}

async function open(
  store: StoreConfig,
  rate: { perSecond: number; marginMs: number },
): Promise<RateGate> {
  switch (store.kind) {
    case 'memory':
      return createMemoryRateGate(rate);
    case 'sqlite': {
      const { createSqliteRateGate } = await import('@c2p/store-sqlite');
      return createSqliteRateGate({
        database: store.path,
        table: gateTable,
        name: gateName,
        ...rate,
      });
    }
    case 'postgres': {
      const { createPostgresRateGate } = await import('@c2p/store-postgres');
      const gate = createPostgresRateGate({
        connection: store.url,
        table: gateTable,
        name: gateName,
        max: 1,
        ...rate,
      });
      try {
        await gate.migrate();
      } catch (error) {
        await gate.close().catch(() => undefined);
        throw error;
      }
      return gate;
    }
    case 'redis': {
      const { createRedisRateGate } = await import('@c2p/store-redis');
      return createRedisRateGate({
        client: store.url,
        key: `c2p-reference:rate:${gateName}`,
        ...rate,
      });
    }
  }
}
