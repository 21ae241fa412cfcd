import type { Sequelize } from "sequelize";
import { execute, select } from "./sql.ts";

/**
 * The SQL of re-sealing stored secrets (server/crypto/resealSecrets.ts decides what to seal and how).
 * The table and column names are interpolated, so they come only from SEALED_COLUMNS, never from input.
 */

/**
 * Columns that hold a sealed secret, with the column each is bound to (the AAD of
 * server/crypto/secretBox.ts): the owning organization, or for signing keys (no organization) the
 * key's own id. `label` names the column in the rotation command's report.
 */
export const SEALED_COLUMNS = [
  { label: "webhook_endpoints", table: "webhook_endpoints", column: "secret", context: "organization_id" },
  { label: "directory_connections", table: "directory_connections", column: "credentials", context: "organization_id" },
  { label: "webhook_endpoints.previous_secret", table: "webhook_endpoints", column: "previous_secret", context: "organization_id" },
  { label: "webhook_signing_keys", table: "webhook_signing_keys", column: "private_key", context: "id" },
] as const;

export type SealedColumn = (typeof SEALED_COLUMNS)[number];

/** A stored value and the context it is sealed for (see SEALED_COLUMNS). */
export type SealedValue = { id: string; context: string; value: string };

/** Up to `limit` rows after id `after` (by id) whose value (when set) does not match the LIKE pattern `sealedPattern`. */
export function valuesNotSealedAs(sequelize: Sequelize, where: SealedColumn, sealedPattern: string, after: string, limit: number): Promise<SealedValue[]> {
  const { table, column, context } = where;
  return select<SealedValue>(
    sequelize,
    `SELECT id, ${context} AS context, ${column} AS value FROM ${table} WHERE ${column} NOT LIKE $1 AND id > $2 ORDER BY id LIMIT $3`,
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
