import { QueryTypes, type Sequelize, type Transaction } from "sequelize";

/** Runs a SELECT with positional bind parameters inside an optional transaction. */
export function select<T extends object>(sequelize: Sequelize, sql: string, bind: unknown[], transaction?: Transaction | null): Promise<T[]> {
  return sequelize.query<T>(sql, { bind, type: QueryTypes.SELECT, transaction: transaction ?? null });
}

/** Runs a statement (INSERT/UPDATE/DELETE) and returns its RETURNING rows, if any. */
export async function execute<T extends object = Record<string, unknown>>(
  sequelize: Sequelize,
  sql: string,
  bind: unknown[],
  transaction?: Transaction | null,
): Promise<T[]> {
  const [rows] = await sequelize.query(sql, { bind, transaction: transaction ?? null });
  return (Array.isArray(rows) ? rows : []) as T[];
}

/**
 * Takes transaction-scoped advisory locks on string keys, in sorted order so two writers never
 * deadlock. Used to serialise creates of the same userName/externalId without aborting the
 * transaction on a unique violation.
 */
export async function lockKeys(sequelize: Sequelize, transaction: Transaction, keys: string[]): Promise<void> {
  const unique = [...new Set(keys)].sort();
  if (unique.length === 0) return;
  // unnest keeps the (sorted) array order, so locks are always taken in the same order.
  await sequelize.query(`SELECT pg_advisory_xact_lock(hashtextextended(k, 0)) FROM unnest($1::text[]) AS k`, {
    bind: [unique],
    transaction,
  });
}
