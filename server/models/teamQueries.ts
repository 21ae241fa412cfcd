import type { Sequelize, Transaction } from "sequelize";
import type { TeamRow } from "./rows.ts";
import { execute, select } from "./sql.ts";

/** The one definition of a team's member count (every membership, active or suspended), for a team id expression. */
const MEMBER_COUNT_OF_TEAM = (teamId: string) => `(SELECT count(*)::int FROM team_memberships m WHERE m.team_id = ${teamId})`;

/** Member counts of teams, as events and the admin read model show them. */
export async function memberCountsOf(sequelize: Sequelize, teamIds: string[], transaction?: Transaction | null): Promise<Map<string, number>> {
  if (teamIds.length === 0) return new Map();
  const rows = await select<{ id: string; n: number }>(
    sequelize,
    `SELECT t.id, ${MEMBER_COUNT_OF_TEAM("t.id")} AS n FROM unnest($1::text[]) AS t(id)`,
    [teamIds],
    transaction,
  );
  return new Map(rows.map((r) => [r.id, r.n]));
}

/** A team's member count (see memberCountsOf). */
export async function memberCountOf(sequelize: Sequelize, teamId: string, transaction?: Transaction | null): Promise<number> {
  return (await memberCountsOf(sequelize, [teamId], transaction)).get(teamId) ?? 0;
}

/** A live team of the organization, optionally locked (lock it before changing its members). */
export async function findTeam(
  sequelize: Sequelize,
  organizationId: string,
  id: string,
  transaction?: Transaction,
  lock = false,
): Promise<TeamRow | undefined> {
  const rows = await select<TeamRow>(
    sequelize,
    `SELECT * FROM teams WHERE organization_id = $1 AND id = $2 AND deleted_at IS NULL${lock ? " FOR UPDATE" : ""}`,
    [organizationId, id],
    transaction,
  );
  return rows[0];
}

/** Live teams of the organization whose id or name (case-insensitive) is among the given values. */
export async function findTeamsByIdOrName(
  sequelize: Sequelize,
  transaction: Transaction,
  organizationId: string,
  values: string[],
): Promise<TeamRow[]> {
  if (values.length === 0) return [];
  return select<TeamRow>(
    sequelize,
    `SELECT * FROM teams WHERE organization_id = $1 AND deleted_at IS NULL
        AND (id = ANY($2::text[]) OR lower(display_name) = ANY($3::text[]))`,
    [organizationId, values, values.map((v) => v.toLowerCase())],
    transaction,
  );
}

/** A live team with this display name (case-insensitive), if any. */
export async function findTeamByName(sequelize: Sequelize, transaction: Transaction, organizationId: string, name: string): Promise<TeamRow | undefined> {
  const rows = await select<TeamRow>(
    sequelize,
    `SELECT * FROM teams WHERE organization_id = $1 AND deleted_at IS NULL AND lower(display_name) = lower($2)`,
    [organizationId, name],
    transaction,
  );
  return rows[0];
}

export type TeamWrite = Pick<TeamRow, "display_name" | "external_id" | "scim_resource">;

/** Inserts a team. */
export async function insertTeam(
  sequelize: Sequelize,
  transaction: Transaction,
  ids: { id: string; organizationId: string; connectionId: string },
  values: TeamWrite,
  now: Date,
): Promise<TeamRow> {
  const rows = await execute<TeamRow>(
    sequelize,
    `INSERT INTO teams (id, organization_id, enterprise_connection_id, display_name, external_id, scim_resource, version,
       idp_touched_at, created_at, updated_at)
     VALUES ($1, $2, $3, $4, $5, $6, 1, $7, $7, $7) RETURNING *`,
    [ids.id, ids.organizationId, ids.connectionId, values.display_name, values.external_id, JSON.stringify(values.scim_resource), now],
    transaction,
  );
  return rows[0]!;
}

/** Updates a team's attributes, bumps its version and records that the IdP touched it. */
export async function updateTeam(
  sequelize: Sequelize,
  transaction: Transaction,
  id: string,
  values: TeamWrite & { membersSynced: boolean },
  now: Date,
): Promise<TeamRow & { member_count: number }> {
  const rows = await execute<TeamRow & { member_count: number }>(
    sequelize,
    // The member count rides along for the event. Its snapshot is exact because every caller holds
    // the team's row lock (or created the team) in this transaction: nobody else can add a member,
    // whose foreign key check needs a KEY SHARE lock on the team row.
    `UPDATE teams SET display_name = $2, external_id = $3, scim_resource = $4, version = version + 1,
       idp_touched_at = $5, updated_at = $5, members_synced_at = CASE WHEN $6 THEN $5 ELSE members_synced_at END
     WHERE id = $1 RETURNING *, ${MEMBER_COUNT_OF_TEAM("$1")} AS member_count`,
    [id, values.display_name, values.external_id, JSON.stringify(values.scim_resource), now, values.membersSynced],
    transaction,
  );
  return rows[0]!;
}

/** Soft-deletes a team; its memberships are removed by the caller in the same transaction. */
export async function softDeleteTeam(sequelize: Sequelize, transaction: Transaction, id: string, now: Date): Promise<TeamRow> {
  const rows = await execute<TeamRow>(
    sequelize,
    `UPDATE teams SET deleted_at = $2, version = version + 1, updated_at = $2 WHERE id = $1 RETURNING *`,
    [id, now],
    transaction,
  );
  return rows[0]!;
}

/** A team of the organization (soft-deleted too) locked for a reconciler fix: FOR NO KEY UPDATE serialises with SCIM writers but not with their membership inserts' foreign-key checks. */
export async function lockTeamForRepair(sequelize: Sequelize, transaction: Transaction, organizationId: string, teamId: string): Promise<TeamRow | undefined> {
  const rows = await select<TeamRow>(sequelize, `SELECT * FROM teams WHERE organization_id = $1 AND id = $2 FOR NO KEY UPDATE`, [organizationId, teamId], transaction);
  return rows[0];
}

/** Moves a team's version (its SCIM members changed without the IdP) and returns it with its member count. */
export async function bumpTeamVersion(sequelize: Sequelize, transaction: Transaction, teamId: string, now: Date): Promise<TeamRow & { member_count: number }> {
  const rows = await execute<TeamRow & { member_count: number }>(
    sequelize,
    `UPDATE teams SET version = version + 1, updated_at = $2 WHERE id = $1 RETURNING *, ${MEMBER_COUNT_OF_TEAM("$1")} AS member_count`,
    [teamId, now],
    transaction,
  );
  return rows[0]!;
}

/** Member user ids of teams, in a stable order, for SCIM presenters. */
export async function memberIdsOfTeams(sequelize: Sequelize, teamIds: string[], transaction?: Transaction): Promise<Map<string, string[]>> {
  const byTeam = new Map<string, string[]>(teamIds.map((id) => [id, []]));
  if (teamIds.length === 0) return byTeam;
  const rows = await select<{ team_id: string; user_id: string }>(
    sequelize,
    `SELECT team_id, user_id FROM team_memberships WHERE team_id = ANY($1::text[]) ORDER BY team_id, user_id`,
    [teamIds],
    transaction,
  );
  for (const row of rows) byTeam.get(row.team_id)?.push(row.user_id);
  return byTeam;
}
