import type { Sequelize } from "sequelize";
import type { EnterpriseConnectionRow, Models } from "../models/index.ts";
import { NotFoundError } from "../errors.ts";
import { directoriesOf } from "../../reconciler/directory/directoryStore.ts";
import type { DirectoryRow } from "../../reconciler/directory/directoryStore.ts";

/** An enterprise connection of the organization with its directory, if one is configured. */
export type ConnectionDirectory = { connection: EnterpriseConnectionRow; directory: DirectoryRow | undefined };

/** The organization's enterprise connections (a handful) with their directories, in id order. */
export async function connectionDirectories(sequelize: Sequelize, models: Models, organizationId: string): Promise<ConnectionDirectory[]> {
  const [connections, directories] = await Promise.all([
    models.EnterpriseConnection.findAll({ where: { organization_id: organizationId }, order: [["id", "ASC"]], limit: 200 }),
    directoriesOf(sequelize, organizationId),
  ]);
  const byConnection = new Map(directories.map((d) => [d.enterprise_connection_id, d]));
  return connections.map((c) => ({ connection: c.get({ plain: true }), directory: byConnection.get(c.id) }));
}

/** One connection of the organization; another organization's id is not found (404), as the admin API answers. */
export async function connectionOfOrganization(models: Models, organizationId: string, id: string): Promise<EnterpriseConnectionRow> {
  const row = await models.EnterpriseConnection.findOne({ where: { id, organization_id: organizationId } });
  if (!row) throw new NotFoundError("Enterprise connection", id);
  return row.get({ plain: true });
}
