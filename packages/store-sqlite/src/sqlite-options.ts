import { integerOption, invalidOption, tableNameOption } from '@c2p/core/kit';
import type Database from 'better-sqlite3';
import { pkg, type SqliteSynchronous } from './sqlite-connection.js';

/** Checks a table name option with the kit's rule (SQLite has no limit of its own; 63 keeps names portable). */
export function tableOption(value: unknown, path: string, fallback: string): string {
  return tableNameOption(value, { path, fallback, pkg });
}

/** Checks the `synchronous` option. */
export function synchronousOption(value: unknown): SqliteSynchronous {
  const synchronous = value ?? 'FULL';
  if (synchronous !== 'FULL' && synchronous !== 'NORMAL') {
    throw invalidOption(
      'options.synchronous',
      `"${String(synchronous)}" is not FULL or NORMAL`,
      pkg,
    );
  }
  return synchronous;
}

/** Checks the `database` option's type (a path or a better-sqlite3 `Database`). */
export function databaseOption(value: unknown): string | Database.Database {
  if (typeof value === 'string') return value;
  if (typeof value === 'object' && value !== null && 'prepare' in value) {
    return value as Database.Database;
  }
  throw invalidOption('options.database', 'must be a file path or a better-sqlite3 Database', pkg);
}

/** Checks `busyTimeoutMs`: how long an operation waits in all for another connection's write lock. */
export function busyTimeoutOption(value: unknown): number {
  return integerOption(value, 'options.busyTimeoutMs', { min: 0, fallback: 5000, pkg });
}
