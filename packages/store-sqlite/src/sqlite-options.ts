import { invalidOption } from '@c2p/core/kit';
import type Database from 'better-sqlite3';
import { pkg, type SqliteSynchronous } from './sqlite-connection.js';

/** Checks a table name option: letters, digits and `_`, as SQLite identifiers go unquoted. */
export function tableOption(value: unknown, path: string, fallback: string): string {
  const table = value ?? fallback;
  if (typeof table !== 'string' || !/^[A-Za-z_][A-Za-z0-9_]{0,62}$/.test(table)) {
    throw invalidOption(
      path,
      `"${String(table)}" must be 1 to 63 letters, digits or _, not starting with a digit`,
      pkg,
    );
  }
  return table;
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
