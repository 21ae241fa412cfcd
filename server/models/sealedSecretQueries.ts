import type { Sequelize } from "sequelize";
import { execute, select } from "./sql.ts";

/**
 * The SQL of re-sealing stored secrets (server/crypto/resealSecrets.ts decides what to seal and how).
 * The table and column names are interpolated, so they come only from SEALED_COLUMNS, never from input.
 */

/** Tables whose one text column holds a secret sealed for the row's organization. */
export const SEALED_COLUMNS = [
  { table: "webhook_endpoints", column: "secret" },
  { table: "directory_connections", column: "credentials" },
] as const;

export type SealedColumn = (typeof SEALED_COLUMNS)[number];

export type SealedValue = { id: string; organization_id: string; value: string };

/** Up to `limit` rows after id `after` (by id) whose value does not match the LIKE pattern `sealedPattern`. */
export function valuesNotSealedAs(sequelize: Sequelize, where: SealedColumn, sealedPattern: string, after: string, limit: number): Promise<SealedValue[]> {
  const { table, column } = where;
  return select<SealedValue>(
    sequelize,
    `SELECT id, organization_id, ${column} AS value FROM ${table} WHERE ${column} NOT LIKE $1 AND id > $2 ORDER BY id LIMIT $3`,
    [sealedPattern, after, limit],
  );
}

/**
 * Replaces a row's value only if it still holds `expected`, so a value changed concurrently is not
 * overwritten with a re-seal of its old one. True when the row was rewritten.
 */
export async function replaceSealedValue(sequelize: Sequelize, where: SealedColumn, id: string, expected: string, sealed: string): Promise<boolean> {
  const { table, column } = where;
  const updated = await execute(sequelize, `UPDATE ${table} SET ${column} = $1 WHERE id = $2 AND ${column} = $3 RETURNING id`, [sealed, id, expected]);
  return updated.length > 0;
}
