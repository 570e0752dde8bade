import { invalidOption } from './errors.js';

/** What {@link tableNameOption} checks a name against. */
export interface TableNameRule {
  /** The option's path, for the message. */
  readonly path: string;
  /** Answered when the value is `undefined`. */
  readonly fallback: string;
  /**
   * The longest name allowed: PostgreSQL cuts identifiers past 63 bytes, so a
   * store that derives index or statement names from the table leaves room for
   * them. Defaults to `63`.
   */
  readonly maxLength?: number;
  /** The package named in the message. */
  readonly pkg?: string;
}

/**
 * Checks a store's table name and answers it: 1 to `maxLength` ASCII letters,
 * digits or `_`, not starting with a digit, so it is safe to write into SQL
 * (quoted) and into the names a store derives from it. Anything else throws
 * naming the option path.
 *
 * @example
 * ```ts
 * const table = tableNameOption(options.table, { path: 'options.table', fallback: 'c2p_inbox' });
 * ```
 */
export function tableNameOption(value: unknown, rule: TableNameRule): string {
  const table = value ?? rule.fallback;
  const maxLength = rule.maxLength ?? 63;
  if (
    typeof table !== 'string' ||
    table.length > maxLength ||
    !/^[A-Za-z_][A-Za-z0-9_]*$/.test(table)
  ) {
    throw invalidOption(
      rule.path,
      `"${String(table)}" must be 1 to ${maxLength} letters, digits or _, not starting with a digit`,
      rule.pkg,
    );
  }
  return table;
}
