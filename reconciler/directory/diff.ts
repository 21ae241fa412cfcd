import type { DirectoryGroup, DirectoryUser } from "./connectors/types.ts";
import type { Finding } from "../types.ts";
import { StoredUserTable, type StoredUser } from "./storedUserTable.ts";

/*
 * The pure directory diff: the IdP's truth (users, groups, members, streamed in pages) against what
 * Rollcall holds for the directory's enterprise connection. No Koa, no database: the pass feeds
 * it rows and pages, it answers findings. Matching (README "Matching IdP objects"):
 * - a user by the value the IdP sends as SCIM externalId, then by userName, then by email (both
 *   case-insensitive), never onto a stored user holding a different externalId;
 * - a group by externalId, then by name.
 * Two candidates, or a stored user claimed by two IdP users, is an ambiguity: a finding with no
 * repair, never a guess.
 */

export type { StoredUser };

/** A live stored team of the connection. */
export type StoredTeam = { id: string; externalId: string | null; displayName: string; members: number };

/** The attributes compared for drift: SCIM attribute name → how to read it on either side. */
const DRIFT_FIELDS = [
  { scim: "userName", idp: (u: DirectoryUser) => u.userName, stored: (s: StoredUser) => s.userName, fold: true },
  { scim: "emails[primary].value", idp: (u: DirectoryUser) => u.email, stored: (s: StoredUser) => s.email, fold: true },
  { scim: "name.givenName", idp: (u: DirectoryUser) => u.givenName, stored: (s: StoredUser) => s.givenName, fold: false },
  { scim: "name.familyName", idp: (u: DirectoryUser) => u.familyName, stored: (s: StoredUser) => s.familyName, fold: false },
] as const;

const lower = (v: string | null) => (v === null ? null : v.toLowerCase());

/*
 * Index maps hold the one user of a key directly and an array only for a key several users share:
 * with 100,000 users, three maps of one-element arrays would be 300,000 arrays for nothing.
 */
type Index<V> = Map<string, V | V[]>;

function push<V extends object>(map: Index<V>, key: string | null, value: V): void {
  if (key === null) return;
  const held = map.get(key);
  if (held === undefined) map.set(key, value);
  else if (Array.isArray(held)) held.push(value);
  else map.set(key, [held, value]);
}

function lookup<V extends object>(map: Index<V>, key: string | null): V[] | undefined {
  if (key === null) return undefined;
  const held = map.get(key);
  return held === undefined ? undefined : Array.isArray(held) ? held : [held];
}

/** The IdP user's profile as findings show it. */
const idpView = (u: DirectoryUser) => ({
  id: u.idpId, external_id: u.externalId, user_name: u.userName, email: u.email, given_name: u.givenName, family_name: u.familyName,
  status: u.status, active: u.active, assignment: u.assignment,
});
const storedView = (s: StoredUser) => ({
  id: s.id, external_id: s.externalId, user_name: s.userName, email: s.email, given_name: s.givenName, family_name: s.familyName, active: s.active,
});
const idpSubject = (u: DirectoryUser) => ({ type: "idp_user" as const, idp_id: u.idpId, user_name: u.userName });

/** A match: the stored user, or why there is none. */
export type UserMatch = { user: StoredUser; by: "externalId" | "userName" | "email" } | { user: null; ambiguous: string[] } | { user: null; ambiguous: null };

/**
 * Matches IdP users to stored users and diffs them. Holds the stored users of one connection (in
 * packed form, storedUserTable.ts) and, once matched, which IdP id claimed which stored user; the
 * IdP side arrives a page at a time and is not kept.
 */
export class DirectoryDiff {
  private readonly table: StoredUserTable;

  constructor(stored: Iterable<StoredUser> | StoredUserTable) {
    if (stored instanceof StoredUserTable) this.table = stored;
    else {
      this.table = new StoredUserTable();
      for (const user of stored) this.table.add(user);
    }
  }

  /** The stored user id an IdP user was matched to (group members are mapped through it). */
  storedIdOf(idpId: string): string | undefined {
    return this.table.claimedBy(idpId);
  }

  /** Finds the stored user an IdP user stands for (see the module comment for the order). */
  match(idp: DirectoryUser): UserMatch {
    const row = this.matchRow(idp);
    return row.row === null ? { user: null, ambiguous: row.ambiguous } : { user: this.table.user(row.row), by: row.by };
  }

  private matchRow(idp: DirectoryUser): { row: number; by: "externalId" | "userName" | "email" } | { row: null; ambiguous: string[] | null } {
    const t = this.table;
    const email = lower(idp.email);
    const attempts: Array<["externalId" | "userName" | "email", number[]]> = [
      ["externalId", idp.externalId === null ? [] : t.withExternalId(idp.externalId)],
      ["userName", idp.userName === null ? [] : t.withUserName(idp.userName.toLowerCase())],
      ["email", email === null ? [] : [...t.withEmail(email), ...t.withUserName(email)]],
    ];
    for (const [by, found] of attempts) {
      if (found.length === 0) continue;
      const unique = [...new Set(found)];
      const candidates = by === "externalId" ? unique : unique.filter((row) => {
        const externalId = t.user(row).externalId;
        return externalId === null || externalId === idp.externalId;
      });
      if (candidates.length === 0) return { row: null, ambiguous: found.map((row) => t.idOf(row)) };
      if (candidates.length > 1) return { row: null, ambiguous: candidates.map((row) => t.idOf(row)) };
      return { row: candidates[0]!, by };
    }
    return { row: null, ambiguous: null };
  }

  /** The findings of one IdP user (full or incremental run). */
  diffUser(idp: DirectoryUser): Finding[] {
    const m = this.matchRow(idp);
    if (m.row === null) {
      if (m.ambiguous) {
        return [{
          kind: "idp_user_missing", reason: "ambiguous_match", subject: idpSubject(idp), stored: { candidates: m.ambiguous }, expected: {}, idp: idpView(idp), action: null,
        }];
      }
      if (!idp.active) return [];
      return [{
        kind: "idp_user_missing", reason: idp.assignment === "group" ? "assigned_through_group_never_provisioned" : "assigned_never_provisioned",
        subject: idpSubject(idp), stored: {}, idp: idpView(idp), action: "provision_user",
        expected: { userName: idp.userName ?? idp.email, externalId: idp.externalId, email: idp.email, givenName: idp.givenName, familyName: idp.familyName, active: true },
      }];
    }
    const earlier = this.table.claimerOf(m.row);
    if (earlier !== undefined && earlier !== idp.idpId) {
      return [{
        kind: "idp_user_missing", reason: "ambiguous_match", subject: idpSubject(idp), stored: { candidates: [this.table.idOf(m.row)], already_matched_to: earlier }, expected: {}, idp: idpView(idp), action: null,
      }];
    }
    this.table.claim(m.row, idp.idpId);
    const stored = this.table.user(m.row);
    const subject = { type: "user" as const, id: stored.id };
    if (stored.active && !idp.active) {
      return [{
        kind: "idp_user_inactive", reason: statusReason(idp), subject, stored: storedView(stored), idp: idpView(idp), expected: { active: false }, action: "deactivate_user",
      }];
    }
    if (!stored.active && idp.active) {
      return [{ kind: "idp_user_missing", reason: "deactivated_here_active_in_idp", subject, stored: storedView(stored), idp: idpView(idp), expected: { active: true }, action: "reactivate_user" }];
    }
    if (!idp.active) return [];
    const changed: Record<string, { stored: string | null; idp: string }> = {};
    for (const field of DRIFT_FIELDS) {
      const theirs = field.idp(idp);
      const ours = field.stored(stored);
      if (theirs === null) continue; // the IdP does not say: nothing to compare
      const same = field.fold ? theirs.toLowerCase() === (ours ?? "").toLowerCase() : theirs === ours;
      if (!same) changed[field.scim] = { stored: ours, idp: theirs };
    }
    if (idp.externalId !== null && stored.externalId !== idp.externalId) changed.externalId = { stored: stored.externalId, idp: idp.externalId };
    if (Object.keys(changed).length === 0) return [];
    return [{
      kind: "idp_attribute_drift", reason: m.by === "externalId" ? "profile_change_never_arrived" : `matched_by_${m.by}`, subject,
      stored: Object.fromEntries(Object.entries(changed).map(([k, v]) => [k, v.stored])),
      idp: Object.fromEntries(Object.entries(changed).map(([k, v]) => [k, v.idp])),
      expected: Object.fromEntries(Object.entries(changed).map(([k, v]) => [k, v.idp])),
      action: "update_user_attributes",
    }];
  }

  /**
   * A user the incremental feed says is no longer assigned (or deleted in the IdP). With the IdP's
   * profile (Graph still has it for an unassigned or soft-deleted user) the user is matched like
   * any other; without one, only by the IdP id as externalId (Okta's SCIM sends its user id).
   */
  diffUnassigned(idpId: string, profile?: DirectoryUser): Finding[] {
    let row: number | undefined;
    if (profile) {
      const m = this.matchRow(profile);
      if (m.row !== null) {
        row = m.row;
        this.table.claim(row, idpId);
      }
    } else {
      const candidates = this.table.withExternalId(idpId);
      row = candidates.length === 1 ? candidates[0]! : undefined;
    }
    if (row === undefined || !this.table.isActive(row)) return [];
    const stored = this.table.user(row);
    return [{
      kind: "idp_user_inactive", reason: "unassigned_in_idp", subject: { type: "user", id: stored.id }, stored: storedView(stored),
      idp: { id: idpId, assigned: false, ...(profile ? { user_name: profile.userName, status: profile.status } : {}) }, expected: { active: false }, action: "deactivate_user",
    }];
  }

  /** After a full pull: active users here that no IdP user claimed (unassigned without a SCIM call, or deleted). */
  *unknownUsers(): Generator<Finding> {
    for (let row = 0; row < this.table.size; row++) {
      if (!this.table.isActive(row) || this.table.claimerOf(row) !== undefined) continue;
      const user = this.table.user(row);
      yield {
        kind: "idp_user_unknown", reason: "not_assigned_in_idp", subject: { type: "user", id: user.id }, stored: storedView(user),
        idp: null, expected: { active: false }, action: "deactivate_user",
      };
    }
  }
}

/** Why an inactive IdP user is inactive, in a stable word. */
function statusReason(idp: DirectoryUser): string {
  if (idp.status === "SUSPENDED") return "suspended_in_idp";
  if (idp.status === "DEPROVISIONED") return "deactivated_in_idp";
  if (idp.status === "accountEnabled=false") return "account_disabled_in_idp";
  return `inactive_in_idp:${idp.status}`;
}

/** Matches IdP groups to stored teams (externalId, then name) and remembers which teams were seen. */
export class GroupDiff {
  private readonly byExternalId: Index<StoredTeam> = new Map();
  private readonly byName: Index<StoredTeam> = new Map();
  private readonly seen = new Set<string>();

  constructor(private readonly teams: StoredTeam[]) {
    for (const team of teams) {
      push(this.byExternalId, team.externalId, team);
      push(this.byName, team.displayName.toLowerCase(), team);
    }
  }

  /** The team an IdP group stands for, or null (a group assigned in the IdP but never pushed is not drift). */
  match(group: DirectoryGroup): StoredTeam | null {
    const byId = lookup(this.byExternalId, group.externalId);
    const found = byId && byId.length > 0 ? byId : lookup(this.byName, group.name.toLowerCase());
    if (!found || found.length !== 1) return null;
    this.seen.add(found[0]!.id);
    return found[0]!;
  }

  /** After a full pull: teams whose IdP group is gone (deleted, or unassigned from the app). */
  *missingGroups(): Generator<Finding> {
    for (const team of this.teams) {
      if (this.seen.has(team.id)) continue;
      yield {
        kind: "idp_group_missing", reason: "group_not_assigned_in_idp", subject: { type: "team", id: team.id },
        stored: { display_name: team.displayName, external_id: team.externalId, members: team.members }, idp: null,
        expected: { deleted: true }, action: "delete_team",
      };
    }
  }
}

/**
 * One team's members against its IdP group's: who the IdP has that the team lacks (among users
 * provisioned here) and who the team has that the IdP group does not.
 */
export function diffMembers(team: StoredTeam, group: DirectoryGroup, idpMemberStoredIds: Set<string>, storedMemberIds: ReadonlySet<string>): Finding[] {
  const missing = [...idpMemberStoredIds].filter((id) => !storedMemberIds.has(id)).sort();
  const stale = [...storedMemberIds].filter((id) => !idpMemberStoredIds.has(id)).sort();
  return memberFindings(team, group, missing, stale, storedMemberIds.size);
}

/**
 * An incremental run's member changes of one group (users as stored ids: added to / removed from
 * the IdP group since the last pull) against the team's stored members: an addition the team
 * lacks is missing here, a removal the team still holds is stale.
 */
export function diffMemberChanges(team: StoredTeam, group: DirectoryGroup, added: Iterable<string>, removed: Iterable<string>, storedMemberIds: ReadonlySet<string>): Finding[] {
  const missing = [...new Set(added)].filter((id) => !storedMemberIds.has(id)).sort();
  const stale = [...new Set(removed)].filter((id) => storedMemberIds.has(id)).sort();
  return memberFindings(team, group, missing, stale, storedMemberIds.size);
}

function memberFindings(team: StoredTeam, group: DirectoryGroup, missing: string[], stale: string[], teamMembers: number): Finding[] {
  const findings: Finding[] = [];
  const idp = { group_id: group.idpId, name: group.name };
  for (const userId of missing) {
    findings.push({
      kind: "idp_member_missing", reason: "member_in_idp_group", subject: { type: "membership", team_id: team.id, user_id: userId },
      stored: { member: false }, idp: { ...idp, member: true }, expected: { member: true }, action: "add_team_members",
    });
  }
  for (const userId of stale) {
    findings.push({
      kind: "idp_member_stale", reason: "not_in_idp_group", subject: { type: "membership", team_id: team.id, user_id: userId },
      stored: { member: true, team_members: teamMembers }, idp: { ...idp, member: false }, expected: { member: false }, action: "remove_team_members",
    });
  }
  return findings;
}
