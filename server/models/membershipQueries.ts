import type { Sequelize, Transaction } from "sequelize";
import type { MembershipRow } from "./rows.ts";
import { execute, select } from "./sql.ts";
import { newId } from "../ids.ts";

/**
 * A user's memberships as JSON, computed in the same query as the user (saves a round trip per
 * page); the same rows and order as membershipsOfUsers, for queries aliasing users as `u`.
 */
export const USER_MEMBERSHIPS_COLUMN = `,
  (SELECT coalesce(json_agg(json_build_object('team_id', m.team_id, 'user_id', m.user_id, 'status', m.status, 'source', m.source,
            'display_name', t.display_name) ORDER BY t.display_name, t.id), '[]'::json)
     FROM team_memberships m JOIN teams t ON t.id = m.team_id AND t.deleted_at IS NULL
    WHERE m.user_id = u.id) AS memberships`;

/** Memberships of each given user (live teams only), with team names, for presenters and mapping. */
export async function membershipsOfUsers(
  sequelize: Sequelize,
  userIds: string[],
  transaction?: Transaction,
): Promise<Map<string, MembershipRow[]>> {
  const byUser = new Map<string, MembershipRow[]>(userIds.map((id) => [id, []]));
  if (userIds.length === 0) return byUser;
  const rows = await select<MembershipRow>(
    sequelize,
    `SELECT m.team_id, m.user_id, m.status, m.source, t.display_name
       FROM team_memberships m JOIN teams t ON t.id = m.team_id AND t.deleted_at IS NULL
      WHERE m.user_id = ANY($1::text[])
      ORDER BY t.display_name, t.id`,
    [userIds],
    transaction,
  );
  for (const row of rows) byUser.get(row.user_id)?.push(row);
  return byUser;
}

/** Suspends or restores every membership of a user (deactivation keeps the rows but revokes access). */
export async function setUserMembershipStatus(
  sequelize: Sequelize,
  transaction: Transaction,
  userId: string,
  status: "active" | "suspended",
  now: Date,
): Promise<string[]> {
  const rows = await execute<{ team_id: string }>(
    sequelize,
    `UPDATE team_memberships SET status = $2, updated_at = $3 WHERE user_id = $1 AND status <> $2 RETURNING team_id`,
    [userId, status, now],
    transaction,
  );
  return rows.map((r) => r.team_id);
}

/**
 * Adds live users of the organization to a team (status follows the user's active flag) and
 * refreshes confirmed_at for those already in it. Returns the user ids that were newly added.
 */
export async function upsertMemberships(
  sequelize: Sequelize,
  transaction: Transaction,
  props: { organizationId: string; teamId: string; userIds: string[]; source: MembershipRow["source"] },
  now: Date,
): Promise<string[]> {
  if (props.userIds.length === 0) return [];
  const rows = await execute<{ user_id: string; inserted: boolean }>(
    sequelize,
    `INSERT INTO team_memberships (organization_id, team_id, user_id, status, source, confirmed_at, created_at, updated_at)
     SELECT $1, $2, u.id, CASE WHEN u.active THEN 'active' ELSE 'suspended' END, $4, $5, $5, $5
       FROM users u WHERE u.organization_id = $1 AND u.id = ANY($3::text[]) AND u.deleted_at IS NULL
     ON CONFLICT (team_id, user_id) DO UPDATE SET confirmed_at = EXCLUDED.confirmed_at
     RETURNING user_id, (xmax = 0) AS inserted`,
    [props.organizationId, props.teamId, props.userIds, props.source, now],
    transaction,
  );
  return rows.filter((r) => r.inserted).map((r) => r.user_id);
}

/** Removes the given users from a team (all of them when userIds is null); returns who was removed. */
export async function deleteMemberships(
  sequelize: Sequelize,
  transaction: Transaction,
  teamId: string,
  userIds: string[] | null,
): Promise<string[]> {
  const rows = userIds === null
    ? await execute<{ user_id: string }>(sequelize, `DELETE FROM team_memberships WHERE team_id = $1 RETURNING user_id`, [teamId], transaction)
    : await execute<{ user_id: string }>(
        sequelize,
        `DELETE FROM team_memberships WHERE team_id = $1 AND user_id = ANY($2::text[]) RETURNING user_id`,
        [teamId, userIds],
        transaction,
      );
  return rows.map((r) => r.user_id);
}

/** Removes a user from every team (on delete); returns the affected team ids. */
export async function deleteUserMemberships(sequelize: Sequelize, transaction: Transaction, userId: string): Promise<string[]> {
  const rows = await execute<{ team_id: string }>(sequelize, `DELETE FROM team_memberships WHERE user_id = $1 RETURNING team_id`, [userId], transaction);
  return rows.map((r) => r.team_id);
}

/** Removes a user from the given teams. */
export async function deleteMembershipsOfUser(sequelize: Sequelize, transaction: Transaction, userId: string, teamIds: string[]): Promise<void> {
  await execute(sequelize, `DELETE FROM team_memberships WHERE user_id = $1 AND team_id = ANY($2::text[])`, [userId, teamIds], transaction);
}

/** Records that the IdP still names these memberships of a user (the reconciler tells them from stale ones). */
export async function confirmMembershipsOfUser(sequelize: Sequelize, transaction: Transaction, userId: string, teamIds: string[], now: Date): Promise<void> {
  await execute(sequelize, `UPDATE team_memberships SET confirmed_at = $3 WHERE user_id = $1 AND team_id = ANY($2::text[])`, [userId, teamIds, now], transaction);
}

/** The user ids of a team's members. */
export async function memberIdsOfTeam(sequelize: Sequelize, transaction: Transaction, teamId: string): Promise<string[]> {
  const rows = await select<{ user_id: string }>(sequelize, `SELECT user_id FROM team_memberships WHERE team_id = $1`, [teamId], transaction);
  return rows.map((r) => r.user_id);
}

/** Suspends the given members of a team (they stay members without access). */
export async function suspendMemberships(sequelize: Sequelize, transaction: Transaction, teamId: string, userIds: string[], now: Date): Promise<void> {
  await execute(sequelize, `UPDATE team_memberships SET status = 'suspended', updated_at = $3 WHERE team_id = $1 AND user_id = ANY($2::text[])`, [teamId, userIds, now], transaction);
}

/** Deletes the given pending memberships of a team that had expired by `expiredBy`; returns what was deleted. */
export function deleteExpiredPendingMemberships(
  sequelize: Sequelize,
  transaction: Transaction,
  teamId: string,
  ids: string[],
  expiredBy: Date,
): Promise<Array<{ id: string; member_value: string }>> {
  return execute<{ id: string; member_value: string }>(
    sequelize,
    `DELETE FROM pending_memberships WHERE team_id = $1 AND id = ANY($2::text[]) AND expires_at <= $3 RETURNING id, member_value`,
    [teamId, ids, expiredBy],
    transaction,
  );
}

/** Maps member values (user ids, or externalIds) to live users of the organization. */
export async function resolveMemberValues(
  sequelize: Sequelize,
  transaction: Transaction,
  organizationId: string,
  values: string[],
): Promise<Map<string, string>> {
  const resolved = new Map<string, string>();
  if (values.length === 0) return resolved;
  const rows = await select<{ id: string; external_id: string | null }>(
    sequelize,
    `SELECT id, external_id FROM users
      WHERE organization_id = $1 AND deleted_at IS NULL AND (id = ANY($2::text[]) OR external_id = ANY($2::text[]))`,
    [organizationId, values],
    transaction,
  );
  for (const row of rows) {
    resolved.set(row.id, row.id);
    if (row.external_id && !resolved.has(row.external_id)) resolved.set(row.external_id, row.id);
  }
  return resolved;
}

/** Records member values that name no user yet, to apply when the user arrives. */
export async function addPendingMemberships(
  sequelize: Sequelize,
  transaction: Transaction,
  props: { organizationId: string; teamId: string; values: string[]; expiresAt: Date },
  now: Date,
): Promise<void> {
  if (props.values.length === 0) return;
  await execute(
    sequelize,
    `INSERT INTO pending_memberships (id, organization_id, team_id, member_value, expires_at, created_at)
     SELECT p.id, $1, $2, p.v, $3, $4 FROM unnest($5::text[], $6::text[]) AS p(v, id)
     ON CONFLICT (team_id, member_value) DO UPDATE SET expires_at = EXCLUDED.expires_at`,
    [props.organizationId, props.teamId, props.expiresAt, now, props.values, props.values.map(() => newId("pm"))],
    transaction,
  );
}

/**
 * Unexpired pending memberships of a team and of its whole organization, leaving out the team's
 * rows for the given values (writing those again only refreshes them).
 */
export async function countPendingMemberships(
  sequelize: Sequelize,
  transaction: Transaction,
  props: { organizationId: string; teamId: string; values: string[] },
  now: Date,
): Promise<{ team: number; organization: number }> {
  const rows = await select<{ team: number; organization: number }>(
    sequelize,
    `SELECT count(*) FILTER (WHERE team_id = $2)::int AS team, count(*)::int AS organization
       FROM pending_memberships
      WHERE organization_id = $1 AND expires_at > $3 AND NOT (team_id = $2 AND member_value = ANY($4::text[]))`,
    [props.organizationId, props.teamId, now, props.values],
    transaction,
  );
  return rows[0] ?? { team: 0, organization: 0 };
}

/** Drops pending memberships of a team (some values, or all when values is null). */
export async function deletePendingMemberships(sequelize: Sequelize, transaction: Transaction, teamId: string, values: string[] | null): Promise<void> {
  if (values === null) {
    await execute(sequelize, `DELETE FROM pending_memberships WHERE team_id = $1`, [teamId], transaction);
  } else if (values.length > 0) {
    await execute(sequelize, `DELETE FROM pending_memberships WHERE team_id = $1 AND member_value = ANY($2::text[])`, [teamId, values], transaction);
  }
}

/** Claims the unexpired pending memberships naming a user (by id or externalId): deletes them and returns their teams. */
export async function claimPendingMemberships(
  sequelize: Sequelize,
  transaction: Transaction,
  props: { organizationId: string; userId: string; externalId: string | null },
  now: Date,
): Promise<string[]> {
  const rows = await execute<{ team_id: string }>(
    sequelize,
    `DELETE FROM pending_memberships p
      USING teams t
      WHERE p.organization_id = $1 AND p.member_value IN ($2, coalesce($3, $2)) AND p.expires_at > $4
        AND t.id = p.team_id AND t.deleted_at IS NULL
      RETURNING p.team_id`,
    [props.organizationId, props.userId, props.externalId, now],
    transaction,
  );
  return [...new Set(rows.map((r) => r.team_id))];
}
