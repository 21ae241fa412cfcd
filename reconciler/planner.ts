/*
 * The pure half of the reconciler: given stored rows, decide what is wrong and how a repair would
 * fix it. No database, no HTTP: the job feeds it batches, and repairs call it again on freshly
 * locked rows so a fix is only applied if the problem still exists. Which columns are mapped, how
 * they are compared and what counts as an email are decided by server/domain/userColumns.ts, the
 * same owner the SCIM writer uses.
 */
import {
  differingColumns,
  isUsableEmail,
  MAPPED_COLUMNS,
  mappedColumnsOf,
  storedMappedColumns,
  type MappedColumns,
} from "../server/domain/userColumns.ts";
import type { ExpectedMapping, Finding, MembershipSnapshot, RepairAction, UserSnapshot } from "./types.ts";

export type { MappedColumns };

/** What the current mapping makes of a user's stored SCIM resource and current (live) teams. */
export function expectedColumns(user: UserSnapshot, memberships: MembershipSnapshot[], mapping: ExpectedMapping): MappedColumns {
  const teamNames = memberships.filter((m) => m.user_id === user.id && m.team_deleted_at === null).map((m) => m.team_name);
  return mappedColumnsOf(mapping.evaluate(user.scim_resource, teamNames), mapping.version);
}

/**
 * Mapping drift of a live user: stored mapped columns vs the current mapping on the stored
 * resource. Only the differing columns are shown. A user whose mapping still fails is reported
 * (not repairable: re-evaluating gives the same errors), as is one the mapping gives no valid
 * email (the SCIM writer would refuse that state, so the repair does too).
 */
export function driftOf(user: UserSnapshot, memberships: MembershipSnapshot[], mapping: ExpectedMapping): Finding | null {
  if (user.deleted_at !== null) return null;
  const expected = expectedColumns(user, memberships, mapping);
  const stored = storedMappedColumns(user);
  const differing = differingColumns(stored, expected, MAPPED_COLUMNS);
  const subject = { type: "user" as const, id: user.id };
  if (differing.length === 0) {
    if (expected.mapping_errors.length === 0) return null;
    return { kind: "mapping_drift", reason: "mapping_errors", subject, stored: { mapping_errors: stored.mapping_errors }, expected: { mapping_errors: [] }, action: null };
  }
  const pick = (cols: MappedColumns) => Object.fromEntries(differing.map((k) => [k, cols[k]]));
  let reason = "fields_differ";
  let action: RepairAction | null = "rewrite_mapped_fields";
  if (!isUsableEmail(expected.email_address)) {
    reason = "mapping_yields_no_email";
    action = null;
  } else if (differing.length === 1 && differing[0] === "mapping_version") {
    reason = "mapping_version_outdated";
    action = "stamp_mapping_version";
  }
  return { kind: "mapping_drift", reason, subject, stored: pick(stored), expected: pick(expected), action };
}

type GroupRef = { value: string | null; display: string | null };

/** A user's stored `groups` attribute as the writer reads it, or null when the IdP never sent one. */
export function groupsAttribute(scimResource: Record<string, unknown>): GroupRef[] | null {
  const raw = scimResource.groups;
  if (!Array.isArray(raw)) return null;
  const str = (v: unknown) => (typeof v === "string" && v.trim() !== "" ? v.trim() : null);
  return raw.map((entry): GroupRef => {
    if (typeof entry === "string") return { value: str(entry), display: null };
    if (entry !== null && typeof entry === "object") {
      const e = entry as Record<string, unknown>;
      return { value: str(e.value), display: str(e.display) };
    }
    return { value: null, display: null };
  });
}

/** The strings a user's groups attribute could name teams by (for looking teams up). */
export function groupsAttributeKeys(scimResource: Record<string, unknown>): string[] {
  return (groupsAttribute(scimResource) ?? []).flatMap((g) => [g.value, g.display]).filter((v): v is string => v !== null);
}

/**
 * The team ids a groups attribute names, resolved exactly like applyUserGroupsAttribute: a value
 * is a team id or name, else the display is a name (names case-insensitive). `teamKeys` maps team
 * ids and lower-cased names of live teams to ids. Null when the user has no groups attribute.
 */
export function namedTeamIds(scimResource: Record<string, unknown>, teamKeys: ReadonlyMap<string, string>): Set<string> | null {
  const groups = groupsAttribute(scimResource);
  if (groups === null) return null;
  const named = new Set<string>();
  for (const group of groups) {
    const teamId = (group.value && (teamKeys.get(group.value) ?? teamKeys.get(group.value.toLowerCase()))) ??
      (group.display ? teamKeys.get(group.display.toLowerCase()) : undefined);
    if (teamId) named.add(teamId);
  }
  return named;
}

/**
 * Whether a membership should not exist (delete) or not grant access (suspend), and why. Deleting
 * rules come first so a membership that is both suspendable and deletable is deleted in one go,
 * and a repaired membership matches no rule on the next run.
 */
export function membershipVerdict(
  m: MembershipSnapshot,
  user: Pick<UserSnapshot, "active" | "deleted_at">,
  namedTeams: Set<string> | null,
): { reason: string; action: "delete_membership" | "suspend_membership" } | null {
  if (user.deleted_at !== null) return { reason: "user_deleted", action: "delete_membership" };
  if (m.team_deleted_at !== null) return { reason: "team_deleted", action: "delete_membership" };
  // A user without a groups attribute never had it applied; only a list that omits the team drops it.
  if (m.source === "user_groups" && namedTeams !== null && !namedTeams.has(m.team_id)) {
    return { reason: "dropped_from_groups_attribute", action: "delete_membership" };
  }
  if (m.team_members_synced_at !== null && m.confirmed_at.getTime() < m.team_members_synced_at.getTime()) {
    return { reason: "not_in_last_member_list", action: "delete_membership" };
  }
  if (!user.active && m.status === "active") return { reason: "user_deactivated", action: "suspend_membership" };
  return null;
}

/** Stale memberships and the per-user invariants of one user (its memberships are passed in). */
function userFindings(user: UserSnapshot, memberships: MembershipSnapshot[], teamKeys: ReadonlyMap<string, string>): Finding[] {
  const findings: Finding[] = [];
  const named = memberships.some((m) => m.source === "user_groups") ? namedTeamIds(user.scim_resource, teamKeys) : null;
  for (const m of memberships) {
    const subject = { type: "membership" as const, team_id: m.team_id, user_id: m.user_id };
    const verdict = membershipVerdict(m, user, named);
    if (verdict) {
      findings.push({
        kind: "stale_membership",
        reason: verdict.reason,
        subject,
        stored: { status: m.status, source: m.source, team_name: m.team_name, confirmed_at: m.confirmed_at.getTime() },
        expected: verdict.action === "delete_membership" ? { membership: null } : { status: "suspended" },
        action: verdict.action,
      });
    } else if (user.active && user.deleted_at === null && m.status === "suspended") {
      findings.push({
        kind: "broken_invariant", reason: "suspended_membership_of_active_user", subject,
        stored: { status: "suspended", user_active: true }, expected: { status: "active" }, action: null,
      });
    }
  }
  if (user.deleted_at !== null && user.active) {
    findings.push({
      kind: "broken_invariant", reason: "deleted_user_active", subject: { type: "user", id: user.id },
      stored: { active: true, deleted_at: user.deleted_at.getTime() }, expected: { active: false }, action: null,
    });
  }
  if (user.deleted_at === null && user.active && !isUsableEmail(user.email_address)) {
    findings.push({
      kind: "broken_invariant", reason: "active_user_without_email", subject: { type: "user", id: user.id },
      stored: { email_address: user.email_address }, expected: { email_address: "a valid email address" }, action: null,
    });
  }
  return findings;
}

/** Every user-level finding of one batch: mapping drift, stale memberships, per-user invariants. */
export function planUserBatch(
  batch: { users: UserSnapshot[]; memberships: MembershipSnapshot[]; teamKeys: ReadonlyMap<string, string> },
  mapping: ExpectedMapping,
): Finding[] {
  const byUser = new Map<string, MembershipSnapshot[]>();
  for (const m of batch.memberships) {
    const list = byUser.get(m.user_id);
    if (list) list.push(m);
    else byUser.set(m.user_id, [m]);
  }
  const findings: Finding[] = [];
  for (const user of batch.users) {
    const memberships = byUser.get(user.id) ?? [];
    const drift = driftOf(user, memberships, mapping);
    if (drift) findings.push(drift);
    findings.push(...userFindings(user, memberships, batch.teamKeys));
  }
  return findings;
}
