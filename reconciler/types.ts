import type { MembershipRow, UserRow } from "../server/models/rows.ts";
import type { MappingResult } from "../mapping/index.ts";
import type { MappedColumns } from "../server/domain/userColumns.ts";

/** Findings of Rollcall compared with itself (stored state vs the mapping, memberships, pending ones). */
export const LOCAL_FINDING_KINDS = ["mapping_drift", "stale_membership", "expired_pending_membership", "stale_team", "broken_invariant"] as const;

/** Findings of Rollcall compared with the IdP's own directory (SPEC "Directory connections"). */
export const IDP_FINDING_KINDS = [
  "idp_user_missing", "idp_user_inactive", "idp_user_unknown", "idp_attribute_drift", "idp_member_missing", "idp_member_stale", "idp_group_missing",
] as const;

/** Every kind of finding a reconcile run reports, in the order the summary lists them. */
export const FINDING_KINDS = [...LOCAL_FINDING_KINDS, ...IDP_FINDING_KINDS] as const;

export type IdpFindingKind = (typeof IDP_FINDING_KINDS)[number];

export type FindingKind = (typeof FINDING_KINDS)[number];

/** What a finding is about. */
export type FindingSubject =
  | { type: "user"; id: string }
  | { type: "membership"; team_id: string; user_id: string }
  | { type: "pending_membership"; id: string; team_id: string; member_value: string }
  | { type: "team"; id: string }
  | { type: "email"; email: string }
  | { type: "idp_user"; idp_id: string; user_name: string | null }
  | { type: "idp_group"; idp_id: string; name: string };

/** The fix a repair run applies; stale teams and broken invariants have none (reported only). */
export type RepairAction =
  | "rewrite_mapped_fields"
  | "stamp_mapping_version"
  | "delete_membership"
  | "suspend_membership"
  | "delete_pending_membership"
  | "provision_user"
  | "reactivate_user"
  | "deactivate_user"
  | "update_user_attributes"
  | "add_team_members"
  | "remove_team_members"
  | "delete_team";

/** What happened when a repair run tried a finding's fix. */
export type RepairOutcome = "repaired" | "unchanged" | "failed";

/** One discrepancy between what is stored and what should be. */
export type Finding = {
  kind: FindingKind;
  /** Why, in a stable machine word (e.g. `user_deactivated`, `dropped_from_groups_attribute`). */
  reason: string;
  subject: FindingSubject;
  stored: Record<string, unknown>;
  expected: Record<string, unknown>;
  /** The fix a repair run applies, or null when the finding is reported only. */
  action: RepairAction | null;
  /** IdP findings: the IdP's value (`stored` is ours, `expected` what the repair writes). */
  idp?: Record<string, unknown> | null;
  /** Set by a repair run on the findings it keeps. */
  repair?: { outcome: RepairOutcome; error?: string };
};

/** A users row as the planner needs it: its mapped columns (server/domain/userColumns.ts) and its state. */
export type UserSnapshot = MappedColumns & Pick<UserRow, "id" | "enterprise_connection_id" | "scim_resource" | "active" | "deleted_at">;

/** A team_memberships row joined with its team (deleted teams included). */
export type MembershipSnapshot = Pick<MembershipRow, "team_id" | "user_id" | "status" | "source"> & {
  confirmed_at: Date;
  team_name: string;
  team_deleted_at: Date | null;
  team_members_synced_at: Date | null;
};

/** A pending membership, with the live user its value names today (if any). */
export type PendingSnapshot = {
  id: string;
  team_id: string;
  member_value: string;
  expires_at: Date;
  known_user_id: string | null;
};

/** A live team with its number of active members. */
export type TeamSnapshot = { id: string; display_name: string; idp_touched_at: Date; active_members: number };

/** Active users of one organization sharing one email address (case-insensitive). */
export type DuplicateEmail = { email: string; user_ids: string[] };

/** The current mapping applied to a stored SCIM resource and team names (server/domain/userColumns.ts mapUser). */
export type Evaluate = (scimResource: Record<string, unknown>, teamNames: string[]) => MappingResult;

/** The current mapping, as the planner sees it. */
export type ExpectedMapping = { version: number | null; evaluate: Evaluate };
