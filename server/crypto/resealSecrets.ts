import type { Sequelize } from "sequelize";
import { replaceSealedValue, SEALED_COLUMNS, valuesNotSealedAs } from "../models/sealedSecretQueries.ts";
import type { KeyRing } from "./secretBox.ts";

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
  for (const sealedColumn of SEALED_COLUMNS) {
    const { label } = sealedColumn;
    counts[label] = 0;
    let after = "";
    for (;;) {
      const rows = await valuesNotSealedAs(sequelize, sealedColumn, current, after, BATCH);
      for (const row of rows) {
        const sealed = ring.seal(ring.open(row.value, row.context), row.context);
        if (await replaceSealedValue(sequelize, sealedColumn, row.id, row.value, sealed)) counts[label] += 1;
      }
      if (rows.length < BATCH) break;
      after = rows[rows.length - 1]!.id;
    }
  }
  return counts;
}
