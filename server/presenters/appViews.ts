import type { MembershipRow, TeamRow, UserRow } from "../models/rows.ts";

const ms = (date: Date | null) => (date ? date.getTime() : null);

/** The app-side user (mapped fields), as webhooks and the admin read model show it. */
export function presentAppUser(row: UserRow, memberships: MembershipRow[], options: { includePrivate?: boolean } = {}) {
  return {
    id: row.id,
    object: "user" as const,
    organization_id: row.organization_id,
    enterprise_connection_id: row.enterprise_connection_id,
    user_name: row.user_name,
    email_address: row.email_address,
    first_name: row.first_name,
    last_name: row.last_name,
    external_id: row.app_external_id,
    scim_external_id: row.external_id,
    active: row.active,
    organization_role: row.organization_role,
    public_metadata: row.public_metadata,
    ...(options.includePrivate ? { private_metadata: row.private_metadata } : {}),
    teams: memberships.map((m) => ({ id: m.team_id, name: m.display_name, status: m.status })),
    mapping: { version: row.mapping_version, errors: row.mapping_errors },
    created_at: ms(row.created_at),
    updated_at: ms(row.updated_at),
    deleted_at: ms(row.deleted_at),
  };
}

export type AppUser = ReturnType<typeof presentAppUser>;

/** The app-side team, as webhooks and the admin read model show it. */
export function presentAppTeam(row: TeamRow, memberCount: number) {
  return {
    id: row.id,
    object: "team" as const,
    organization_id: row.organization_id,
    enterprise_connection_id: row.enterprise_connection_id,
    name: row.display_name,
    external_id: row.external_id,
    member_count: memberCount,
    created_at: ms(row.created_at),
    updated_at: ms(row.updated_at),
    deleted_at: ms(row.deleted_at),
  };
}
