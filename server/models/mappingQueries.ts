import type { Sequelize, Transaction } from "sequelize";
import type { MappingDocument } from "../../mapping/index.ts";
import { newId } from "../ids.ts";
import { execute, select } from "./sql.ts";

/** An attribute_mappings row: one stored version of an organization's mapping. */
export type MappingVersionRow = { id: string; organization_id: string; version: number; mapping: MappingDocument; created_at: Date };

/**
 * Stores the next version of an organization's mapping (versions count up from 1), numbered under
 * the organization's row lock so two uploads never get the same number.
 */
export async function insertMappingVersion(
  sequelize: Sequelize,
  transaction: Transaction,
  organizationId: string,
  document: MappingDocument,
  now: Date,
): Promise<MappingVersionRow> {
  await execute(sequelize, `SELECT id FROM organizations WHERE id = $1 FOR UPDATE`, [organizationId], transaction);
  const [row] = await execute<MappingVersionRow>(
    sequelize,
    `INSERT INTO attribute_mappings (id, organization_id, version, mapping, created_at)
     SELECT $1, $2, coalesce(max(version), 0) + 1, $3, $4 FROM attribute_mappings WHERE organization_id = $2
     RETURNING *`,
    [newId("map"), organizationId, JSON.stringify(document), now],
    transaction,
  );
  return row!;
}

/** The newest stored version of an organization's mapping, if any. */
export async function latestMappingVersion(sequelize: Sequelize, organizationId: string, transaction?: Transaction): Promise<MappingVersionRow | undefined> {
  const rows = await select<MappingVersionRow>(
    sequelize,
    `SELECT * FROM attribute_mappings WHERE organization_id = $1 ORDER BY version DESC LIMIT 1`,
    [organizationId],
    transaction,
  );
  return rows[0];
}

/** One stored version of an organization's mapping, if it exists. */
export async function mappingVersion(
  sequelize: Sequelize,
  organizationId: string,
  version: number,
  transaction?: Transaction,
): Promise<MappingVersionRow | undefined> {
  const rows = await select<MappingVersionRow>(
    sequelize,
    `SELECT * FROM attribute_mappings WHERE organization_id = $1 AND version = $2`,
    [organizationId, version],
    transaction,
  );
  return rows[0];
}

/** Every stored version, newest first. */
export function mappingVersionsOf(sequelize: Sequelize, organizationId: string): Promise<MappingVersionRow[]> {
  return select<MappingVersionRow>(sequelize, `SELECT * FROM attribute_mappings WHERE organization_id = $1 ORDER BY version DESC`, [organizationId]);
}
