import type { Sequelize } from "sequelize";
import type { TeamRow, UserRow } from "./rows.ts";
import { keysetTail, type PageRequest } from "./keysetPage.ts";
import { select } from "./sql.ts";

/*
 * The reads of the admin read model (users, teams, members, the SCIM request log), each scoped by
 * organization and keyset-paginated by id (one row more than the page, see keysetPage.ts).
 */

/** A scim_request_log row. */
export type ScimEventRow = {
  id: string; token_id: string | null; request_id: string; method: string; path: string; status: number;
  duration_ms: number; outcome: string; error: string | null; created_at: Date;
};

/** A team member: the user with its membership. */
export type TeamMemberRow = UserRow & { membership_status: string; membership_source: string; confirmed_at: Date };

/** A page of the organization's live users. */
export function pageOfUsers(sequelize: Sequelize, organizationId: string, page: PageRequest): Promise<UserRow[]> {
  const bind: unknown[] = [organizationId];
  return select<UserRow>(sequelize, `SELECT * FROM users WHERE organization_id = $1 AND deleted_at IS NULL${keysetTail("id", page, bind)}`, bind);
}

/** A user of the organization, soft-deleted ones too (the read model shows them with deleted_at). */
export async function anyUser(sequelize: Sequelize, organizationId: string, id: string): Promise<UserRow | undefined> {
  return (await select<UserRow>(sequelize, `SELECT * FROM users WHERE organization_id = $1 AND id = $2`, [organizationId, id]))[0];
}

/** A page of the organization's live teams. */
export function pageOfTeams(sequelize: Sequelize, organizationId: string, page: PageRequest): Promise<TeamRow[]> {
  const bind: unknown[] = [organizationId];
  return select<TeamRow>(sequelize, `SELECT * FROM teams WHERE organization_id = $1 AND deleted_at IS NULL${keysetTail("id", page, bind)}`, bind);
}

/** A live team of the organization. */
export async function liveTeam(sequelize: Sequelize, organizationId: string, id: string): Promise<TeamRow | undefined> {
  return (await select<TeamRow>(sequelize, `SELECT * FROM teams WHERE organization_id = $1 AND id = $2 AND deleted_at IS NULL`, [organizationId, id]))[0];
}

/** A page of a team's members, by user id. */
export function pageOfTeamMembers(sequelize: Sequelize, organizationId: string, teamId: string, page: PageRequest): Promise<TeamMemberRow[]> {
  const bind: unknown[] = [organizationId, teamId];
  return select<TeamMemberRow>(
    sequelize,
    `SELECT u.*, m.status AS membership_status, m.source AS membership_source, m.confirmed_at
       FROM team_memberships m JOIN users u ON u.id = m.user_id
      WHERE m.organization_id = $1 AND m.team_id = $2${keysetTail("u.id", page, bind)}`,
    bind,
  );
}

/** A page of the organization's SCIM request log, newest first. */
export function pageOfScimEvents(sequelize: Sequelize, organizationId: string, page: PageRequest): Promise<ScimEventRow[]> {
  const bind: unknown[] = [organizationId];
  return select<ScimEventRow>(sequelize, `SELECT * FROM scim_request_log WHERE organization_id = $1${keysetTail("id", page, bind, "desc")}`, bind);
}
