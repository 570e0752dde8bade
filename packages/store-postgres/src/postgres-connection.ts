import type { C2pError } from '@c2p/core';
import { storeUnavailable } from '@c2p/core/kit';
import type { Pool, PoolClient } from 'pg';

const ignore = (): void => {};

/**
 * Checks a client out of `pool` for a transaction. While it is checked out, a
 * connection error (the server restarted or was stopped) is emitted on the
 * client, not on the pool, and with no listener it would end the process: the
 * query in flight fails on its own and the caller releases the client with
 * that error, so the event itself carries nothing more. pg reuses clients, so
 * the listener is added once per client.
 */
export async function checkout(pool: Pool): Promise<PoolClient> {
  const client = await pool.connect();
  if (client.listenerCount('error') === 0) client.on('error', ignore);
  return client;
}

/**
 * Wraps whatever the backend threw as `STORE_UNAVAILABLE`; a missing table
 * (`42P01`) gets a message naming the call that creates it.
 */
export function unavailableWith(
  pkg: string,
  table: string,
  migrate: string,
): (cause: unknown) => C2pError {
  return (cause) => {
    const missingTable = (cause as { code?: unknown } | null)?.code === '42P01';
    return storeUnavailable(
      cause,
      missingTable ? `[${pkg}] the table ${table} does not exist: run ${migrate}()` : undefined,
    );
  };
}

/** Rolls back; answers the error that makes the connection unfit for reuse, if any. */
export async function rollback(client: PoolClient): Promise<Error | undefined> {
  try {
    await client.query('ROLLBACK');
    return undefined;
  } catch (error) {
    return error instanceof Error ? error : new Error(String(error));
  }
}
