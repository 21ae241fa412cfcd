import type { Sequelize } from "sequelize";
import { select } from "./sql.ts";

/** The id of the organization named by its id or its slug, if it exists. */
export async function organizationIdOf(sequelize: Sequelize, idOrSlug: string): Promise<string | undefined> {
  const rows = await select<{ id: string }>(sequelize, `SELECT id FROM organizations WHERE id = $1 OR slug = $1`, [idOrSlug]);
  return rows[0]?.id;
}

/** The next page of organization ids after `after`, in id order. */
export async function organizationIdsAfter(sequelize: Sequelize, after: string, limit: number): Promise<string[]> {
  const rows = await select<{ id: string }>(sequelize, `SELECT id FROM organizations WHERE id > $1 ORDER BY id LIMIT $2`, [after, limit]);
  return rows.map((r) => r.id);
}
