import type { Sequelize, Transaction } from "sequelize";
import { select } from "../../server/models/sql.ts";
import type { StoredTeam, StoredUser } from "./diff.ts";

/*
 * What the directory diff compares with, read for one organization and one enterprise connection
 * (every query is scoped by both: one organization's directory can never see another's rows).
 * Users are read a batch at a time in id order, in the compact shape the diff keeps.
 */

const USER_BATCH = 5000;

const COMPACT_USER = `id, external_id AS "externalId", user_name AS "userName",
  coalesce((SELECT e->>'value' FROM jsonb_array_elements(CASE WHEN jsonb_typeof(scim_resource->'emails') = 'array' THEN scim_resource->'emails' ELSE '[]'::jsonb END) e
             ORDER BY (e->>'primary') = 'true' DESC LIMIT 1), email_address) AS email,
  scim_resource->'name'->>'givenName' AS "givenName", scim_resource->'name'->>'familyName' AS "familyName", active`;

/**
 * Live users of the connection an incremental run may match to the changed IdP users: by
 * externalId, userName or email (the diff's keys), so the run reads what changed, not everyone.
 */
export function storedUsersMatching(
  sequelize: Sequelize,
  tx: Transaction | null,
  organizationId: string,
  connectionId: string,
  keys: { externalIds: string[]; names: string[] },
): Promise<StoredUser[]> {
  return select<StoredUser>(
    sequelize,
    `SELECT ${COMPACT_USER} FROM users
      WHERE organization_id = $1 AND enterprise_connection_id = $2 AND deleted_at IS NULL
        AND (external_id = ANY($3::text[]) OR lower(user_name) = ANY($4::text[]) OR lower(email_address) = ANY($4::text[]))
      ORDER BY id`,
    [organizationId, connectionId, keys.externalIds, keys.names.map((n) => n.toLowerCase())],
    tx,
  );
}

/** Live users of the connection, compact, in id order, a batch at a time. */
export async function* storedUsers(sequelize: Sequelize, tx: Transaction | null, organizationId: string, connectionId: string): AsyncGenerator<StoredUser[]> {
  let after = "";
  for (;;) {
    const rows = await select<StoredUser>(
      sequelize,
      `SELECT ${COMPACT_USER}
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

/** The member user ids of several teams, in one query. */
export async function teamMemberIds(sequelize: Sequelize, tx: Transaction | null, organizationId: string, teamIds: string[]): Promise<Map<string, Set<string>>> {
  const rows = await select<{ team_id: string; user_id: string }>(
    sequelize,
    `SELECT team_id, user_id FROM team_memberships WHERE organization_id = $1 AND team_id = ANY($2::text[])`,
    [organizationId, teamIds],
    tx,
  );
  const members = new Map<string, Set<string>>(teamIds.map((id) => [id, new Set()]));
  for (const row of rows) members.get(row.team_id)!.add(row.user_id);
  return members;
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
