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
