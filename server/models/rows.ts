import type { MappedColumns } from "../domain/userColumns.ts";

/**
 * A users row (see migrations/); the SCIM resource as last received lives in scim_resource. The
 * columns the attribute mapping fills are declared by their owner, server/domain/userColumns.ts.
 */
export type UserRow = MappedColumns & {
  id: string;
  organization_id: string;
  enterprise_connection_id: string;
  external_id: string | null;
  user_name: string;
  active: boolean;
  deleted_at: Date | null;
  scim_resource: Record<string, unknown>;
  version: number;
  created_at: Date;
  updated_at: Date;
};

/** A teams row: a SCIM Group as the app knows it. */
export type TeamRow = {
  id: string;
  organization_id: string;
  enterprise_connection_id: string;
  display_name: string;
  external_id: string | null;
  scim_resource: Record<string, unknown>;
  deleted_at: Date | null;
  version: number;
  idp_touched_at: Date;
  members_synced_at: Date | null;
  created_at: Date;
  updated_at: Date;
};

/** One membership of a user in a team, with the team's name (for presenters and mapping). */
export type MembershipRow = {
  team_id: string;
  user_id: string;
  status: "active" | "suspended";
  source: "group" | "user_groups" | "reconciler";
  display_name: string;
};
