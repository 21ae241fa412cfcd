import type { Sequelize, Transaction } from "sequelize";
import { select } from "../../server/models/sql.ts";
import type { StoredTeam, StoredUser } from "./diff.ts";

/*
 * What the directory diff compares with, read for one organization and one enterprise connection
 * (every query is scoped by both: one organization's directory can never see another's rows).
 * Users are read a batch at a time in id order, in the compact shape the diff keeps.
 */

const USER_BATCH = 5000;

/** Live users of the connection, compact, in id order, a batch at a time. */
export async function* storedUsers(sequelize: Sequelize, tx: Transaction | null, organizationId: string, connectionId: string): AsyncGenerator<StoredUser[]> {
  let after = "";
  for (;;) {
    const rows = await select<StoredUser>(
      sequelize,
      `SELECT id, external_id AS "externalId", user_name AS "userName",
              coalesce((SELECT e->>'value' FROM jsonb_array_elements(CASE WHEN jsonb_typeof(scim_resource->'emails') = 'array' THEN scim_resource->'emails' ELSE '[]'::jsonb END) e
                         ORDER BY (e->>'primary') = 'true' DESC LIMIT 1), email_address) AS email,
              scim_resource->'name'->>'givenName' AS "givenName", scim_resource->'name'->>'familyName' AS "familyName", active
         FROM users
        WHERE organization_id = $1 AND enterprise_connection_id = $2 AND deleted_at IS NULL AND id > $3
        ORDER BY id LIMIT $4`,
      [organizationId, connectionId, after, USER_BATCH],
      tx,
    );
    if (rows.length > 0) yield rows;
    if (rows.length < USER_BATCH) return;
    after = rows[rows.length - 1]!.id;
  }
}

/** Live teams of the connection with their member counts. */
export function storedTeams(sequelize: Sequelize, tx: Transaction | null, organizationId: string, connectionId: string): Promise<StoredTeam[]> {
  return select<StoredTeam>(
    sequelize,
    `SELECT t.id, t.external_id AS "externalId", t.display_name AS "displayName",
            (SELECT count(*)::int FROM team_memberships m WHERE m.team_id = t.id) AS members
       FROM teams t
      WHERE t.organization_id = $1 AND t.enterprise_connection_id = $2 AND t.deleted_at IS NULL
      ORDER BY t.id`,
    [organizationId, connectionId],
    tx,
  );
}

/** The user ids of one team's members. */
export async function teamMemberIds(sequelize: Sequelize, tx: Transaction | null, organizationId: string, teamId: string): Promise<Set<string>> {
  const rows = await select<{ user_id: string }>(
    sequelize,
    `SELECT user_id FROM team_memberships WHERE organization_id = $1 AND team_id = $2`,
    [organizationId, teamId],
    tx,
  );
  return new Set(rows.map((r) => r.user_id));
}

/** How many active users the organization has (the blast-radius guard's denominator). */
export async function activeUserCount(sequelize: Sequelize, tx: Transaction | null, organizationId: string): Promise<number> {
  const [row] = await select<{ n: number }>(
    sequelize,
    `SELECT count(*)::int AS n FROM users WHERE organization_id = $1 AND deleted_at IS NULL AND active`,
    [organizationId],
    tx,
  );
  return row?.n ?? 0;
}
