import type { Sequelize } from "sequelize";
import { execute, select } from "../models/sql.ts";
import type { KeyRing } from "./secretBox.ts";

/** Tables whose one text column holds a secret sealed for the row's organization. */
const SEALED_COLUMNS = [
  { table: "webhook_endpoints", column: "secret" },
  { table: "directory_connections", column: "credentials" },
] as const;

const BATCH = 500;

/**
 * Seals stored secrets with the ring's current key: plaintext webhook secrets written before
 * encryption existed (at every boot; cheap when there is nothing to do), and, for
 * `rollcall rotate-encryption-key`, values sealed with a previous key too. Each row is rewritten only if it still holds the value read,
 * so a secret rotated concurrently is not overwritten with its old value.
 */
export async function resealSecrets(sequelize: Sequelize, ring: KeyRing, scope: "plaintext" | "all_but_current"): Promise<Record<string, number>> {
  const counts: Record<string, number> = {};
  // At boot only plaintext is sealed: a value sealed with a key this process does not know may
  // belong to a replica already rotated, and must not be touched. The rotation command re-seals the rest.
  const current = scope === "plaintext" ? "rcenc:%" : `rcenc:v1:${ring.currentId}:%`;
  for (const { table, column } of SEALED_COLUMNS) {
    counts[table] = 0;
    let after = "";
    for (;;) {
      const rows = await select<{ id: string; organization_id: string; value: string }>(
        sequelize,
        `SELECT id, organization_id, ${column} AS value FROM ${table} WHERE ${column} NOT LIKE $1 AND id > $2 ORDER BY id LIMIT $3`,
        [current, after, BATCH],
      );
      for (const row of rows) {
        const sealed = ring.seal(ring.open(row.value, row.organization_id), row.organization_id);
        const updated = await execute(sequelize, `UPDATE ${table} SET ${column} = $1 WHERE id = $2 AND ${column} = $3 RETURNING id`, [sealed, row.id, row.value]);
        counts[table] += updated.length;
      }
      if (rows.length < BATCH) break;
      after = rows[rows.length - 1]!.id;
    }
  }
  return counts;
}
