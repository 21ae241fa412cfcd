/** A users row (see migrations/); the SCIM resource as last received lives in scim_resource. */
export type UserRow = {
  id: string;
  organization_id: string;
  enterprise_connection_id: string;
  external_id: string | null;
  user_name: string;
  app_external_id: string | null;
  email_address: string | null;
  first_name: string | null;
  last_name: string | null;
  active: boolean;
  deleted_at: Date | null;
  organization_role: string;
  public_metadata: Record<string, unknown>;
  private_metadata: Record<string, unknown>;
  scim_resource: Record<string, unknown>;
  mapping_version: number | null;
  mapping_errors: unknown[];
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
