import { expect } from "chai";
import { compileMapping, defaultCompiledMapping } from "../../mapping/index.ts";
import { mapUser, type CurrentMapping } from "../../server/commands/userMapping.ts";
import { FindingLog } from "../../reconciler/findingLog.ts";
import { planDuplicateEmails, planPendingBatch, planTeamBatch } from "../../reconciler/orgPlanner.ts";
import { driftOf, membershipVerdict, namedTeamIds, planUserBatch } from "../../reconciler/planner.ts";
import { stableJson } from "../../server/stableJson.ts";
import type { ExpectedMapping, Finding, MembershipSnapshot, UserSnapshot } from "../../reconciler/types.ts";

const ROLE_FROM_TEAMS = { "groups[0].value": '{{ value | downcase | replace: "admins", "org:admin" | default: "org:member" }}.organization_role' };

function expected(current: CurrentMapping): ExpectedMapping {
  return { version: current.version, evaluate: (resource, teams) => mapUser(current, resource, teams) };
}

const defaults = expected({ version: null, compiled: defaultCompiledMapping });
const roleMapping = expected({ version: 2, compiled: compileMapping(ROLE_FROM_TEAMS) });

/** A user whose stored columns are exactly what the default mapping makes of its resource. */
function user(overrides: Partial<UserSnapshot> = {}): UserSnapshot {
  return {
    id: "user_1",
    enterprise_connection_id: "conn_1",
    email_address: "ada@example.com",
    first_name: "Ada",
    last_name: "Lovelace",
    app_external_id: "ext-1",
    organization_role: "org:member",
    public_metadata: {},
    private_metadata: {},
    scim_resource: {
      userName: "ada@example.com",
      externalId: "ext-1",
      name: { givenName: "Ada", familyName: "Lovelace" },
      emails: [{ value: "ada@example.com", primary: true }],
      active: true,
    },
    mapping_version: null,
    mapping_errors: [],
    active: true,
    deleted_at: null,
    ...overrides,
  };
}

function membership(overrides: Partial<MembershipSnapshot> = {}): MembershipSnapshot {
  return {
    team_id: "team_a",
    user_id: "user_1",
    status: "active",
    source: "group",
    confirmed_at: new Date("2030-01-01T00:00:00Z"),
    team_name: "Admins",
    team_deleted_at: null,
    team_members_synced_at: null,
    ...overrides,
  };
}

const kinds = (findings: Finding[]) => findings.map((f) => `${f.kind}:${f.reason}`);

describe("reconciler planner: mapping drift", () => {
  it("finds nothing for a user stored exactly as the current mapping maps it", () => {
    expect(driftOf(user(), [], defaults)).to.equal(null);
  });

  it("reports only the mapped columns that differ, with stored and expected values", () => {
    const finding = driftOf(user({ first_name: "Stale", organization_role: "org:admin" }), [], defaults);
    expect(finding).to.deep.include({ kind: "mapping_drift", reason: "fields_differ", action: "rewrite_mapped_fields" });
    expect(finding!.stored).to.deep.equal({ first_name: "Stale", organization_role: "org:admin" });
    expect(finding!.expected).to.deep.equal({ first_name: "Ada", organization_role: "org:member" });
  });

  it("evaluates team-based templates on the user's live teams, not on deleted ones", () => {
    const admins = membership();
    expect(driftOf(user({ mapping_version: 2 }), [admins], roleMapping)!.expected).to.deep.equal({ organization_role: "org:admin" });
    expect(driftOf(user({ mapping_version: 2 }), [{ ...admins, team_deleted_at: new Date() }], roleMapping)).to.equal(null);
  });

  it("only stamps the version when the mapped columns already match a newer mapping version", () => {
    const finding = driftOf(user({ mapping_version: 1 }), [], { ...defaults, version: 2 });
    expect(finding).to.deep.include({ reason: "mapping_version_outdated", action: "stamp_mapping_version" });
    expect(finding!.stored).to.deep.equal({ mapping_version: 1 });
  });

  it("reports a mapping that still fails as drift without a repair (re-evaluating gives the same errors)", () => {
    // A raw source value that is not a role key is an evaluation error on every run.
    const failing = expected({ version: 2, compiled: compileMapping({ title: "organization_role" }) });
    const resource = { ...user().scim_resource, title: "Engineer" };
    const first = driftOf(user({ mapping_version: 2, scim_resource: resource }), [], failing)!;
    expect(first.reason).to.equal("fields_differ");
    const errors = first.expected.mapping_errors;
    expect(errors).to.have.length(1);
    const settled = driftOf(user({ mapping_version: 2, scim_resource: resource, mapping_errors: errors as unknown[] }), [], failing);
    expect(settled).to.deep.include({ reason: "mapping_errors", action: null });
  });

  it("does not offer a repair that would store a user without a valid email", () => {
    const noEmail = expected({ version: 3, compiled: compileMapping({ "title": "email_address" }) });
    const finding = driftOf(user({ scim_resource: { userName: "not-an-email", title: "nope" } }), [], noEmail);
    expect(finding).to.deep.include({ reason: "mapping_yields_no_email", action: null });
  });

  it("ignores soft-deleted users", () => {
    expect(driftOf(user({ first_name: "Stale", deleted_at: new Date() }), [], defaults)).to.equal(null);
  });

  it("compares JSON columns regardless of key order (jsonb reorders keys)", () => {
    expect(stableJson({ b: 1, a: { d: [1, { y: 2, x: 1 }], c: null } })).to.equal(stableJson({ a: { c: null, d: [1, { x: 1, y: 2 }] }, b: 1 }));
    expect(stableJson({ a: 1 })).to.not.equal(stableJson({ a: "1" }));
  });
});

describe("reconciler planner: stale memberships", () => {
  const live = { active: true, deleted_at: null };

  it("deletes memberships of deleted users and in deleted teams", () => {
    expect(membershipVerdict(membership(), { active: false, deleted_at: new Date() }, null)).to.deep.equal({ reason: "user_deleted", action: "delete_membership" });
    expect(membershipVerdict(membership({ team_deleted_at: new Date() }), live, null)).to.deep.equal({ reason: "team_deleted", action: "delete_membership" });
  });

  it("suspends the active memberships of a deactivated user and leaves suspended ones alone", () => {
    expect(membershipVerdict(membership(), { active: false, deleted_at: null }, null)).to.deep.equal({ reason: "user_deactivated", action: "suspend_membership" });
    expect(membershipVerdict(membership({ status: "suspended" }), { active: false, deleted_at: null }, null)).to.equal(null);
  });

  it("drops a groups-attribute membership whose team the attribute no longer names", () => {
    const m = membership({ source: "user_groups" });
    expect(membershipVerdict(m, live, new Set(["team_b"]))).to.deep.equal({ reason: "dropped_from_groups_attribute", action: "delete_membership" });
    expect(membershipVerdict(m, live, new Set(["team_a"]))).to.equal(null);
    // No attribute at all: the IdP never sent one (e.g. a PUT without groups), so nothing was dropped.
    expect(membershipVerdict(m, live, null)).to.equal(null);
    // Group pushes own their memberships; the user's attribute does not.
    expect(membershipVerdict(membership({ source: "group" }), live, new Set())).to.equal(null);
  });

  it("drops a member confirmed before the team's last full member list", () => {
    const synced = new Date("2030-02-01T00:00:00Z");
    expect(membershipVerdict(membership({ team_members_synced_at: synced }), live, null)).to.deep.equal({ reason: "not_in_last_member_list", action: "delete_membership" });
    expect(membershipVerdict(membership({ team_members_synced_at: synced, confirmed_at: synced }), live, null)).to.equal(null);
  });

  it("deletes rather than suspends when both apply, so the repaired membership matches no rule next time", () => {
    const m = membership({ source: "user_groups" });
    expect(membershipVerdict(m, { active: false, deleted_at: null }, new Set())).to.deep.equal({ reason: "dropped_from_groups_attribute", action: "delete_membership" });
  });

  it("resolves a groups attribute like the user writer: value as id or name, else display as name", () => {
    const keys = new Map([["team_a", "team_a"], ["admins", "team_a"], ["team_b", "team_b"], ["engineering", "team_b"]]);
    expect([...namedTeamIds({ groups: [{ value: "ADMINS" }] }, keys)!]).to.deep.equal(["team_a"]);
    expect([...namedTeamIds({ groups: [{ value: "unknown", display: "Engineering" }] }, keys)!]).to.deep.equal(["team_b"]);
    expect([...namedTeamIds({ groups: [{ value: "team_a", display: "Engineering" }] }, keys)!]).to.deep.equal(["team_a"]);
    expect([...namedTeamIds({ groups: ["Engineering"] }, keys)!]).to.deep.equal(["team_b"]);
    expect(namedTeamIds({}, keys)).to.equal(null);
  });
});

describe("reconciler planner: invariants and organization checks", () => {
  it("reports a deleted user still active, an active user without email and a suspended membership of an active user", () => {
    const findings = planUserBatch({
      users: [
        user({ id: "user_1", deleted_at: new Date(), active: true }),
        user({ id: "user_2", email_address: null, scim_resource: { userName: "u2", emails: [] }, first_name: null, last_name: null, app_external_id: null }),
        user({ id: "user_3" }),
      ],
      memberships: [membership({ user_id: "user_3", status: "suspended" })],
      teamKeys: new Map(),
    }, defaults);
    expect(kinds(findings)).to.include.members([
      "broken_invariant:deleted_user_active",
      "broken_invariant:active_user_without_email",
      "broken_invariant:suspended_membership_of_active_user",
    ]);
    expect(findings.find((f) => f.reason === "active_user_without_email")!.subject).to.deep.equal({ type: "user", id: "user_2" });
  });

  it("reports expired pending memberships for deletion and unclaimed ones naming a known user", () => {
    const now = new Date("2030-01-10T00:00:00Z");
    const findings = planPendingBatch([
      { id: "pm_1", team_id: "team_a", member_value: "ghost", expires_at: new Date("2030-01-09T00:00:00Z"), known_user_id: null },
      { id: "pm_2", team_id: "team_a", member_value: "ext-1", expires_at: new Date("2030-01-11T00:00:00Z"), known_user_id: "user_1" },
      { id: "pm_3", team_id: "team_a", member_value: "later", expires_at: new Date("2030-01-11T00:00:00Z"), known_user_id: null },
    ], now);
    expect(findings.map((f) => [f.kind, f.subject.type === "pending_membership" ? f.subject.id : "", f.action])).to.deep.equal([
      ["expired_pending_membership", "pm_1", "delete_pending_membership"],
      ["broken_invariant", "pm_2", null],
    ]);
  });

  it("reports teams untouched for the configured days with no active member, never with a repair", () => {
    const now = new Date("2030-03-01T00:00:00Z");
    const old = new Date("2030-01-01T00:00:00Z");
    const findings = planTeamBatch([
      { id: "team_old", display_name: "Old", idp_touched_at: old, active_members: 0 },
      { id: "team_busy", display_name: "Busy", idp_touched_at: old, active_members: 2 },
      { id: "team_new", display_name: "New", idp_touched_at: new Date("2030-02-20T00:00:00Z"), active_members: 0 },
    ], now, 30);
    expect(findings.map((f) => [f.subject, f.action])).to.deep.equal([[{ type: "team", id: "team_old" }, null]]);
    expect(planTeamBatch([{ id: "team_new", display_name: "New", idp_touched_at: new Date("2030-02-20T00:00:00Z"), active_members: 0 }], now, 5)).to.have.length(1);
  });

  it("reports an email shared by several active users once, naming them", () => {
    const findings = planDuplicateEmails([{ email: "a@example.com", user_ids: ["user_1", "user_2"] }]);
    expect(findings).to.have.length(1);
    expect(findings[0]).to.deep.include({ kind: "broken_invariant", reason: "duplicate_active_email", action: null });
    expect(findings[0]!.stored).to.deep.equal({ user_ids: ["user_1", "user_2"] });
  });
});

describe("reconciler finding log", () => {
  it("counts every finding but keeps only a capped number per kind", () => {
    const log = new FindingLog(2);
    const drift = (id: string): Finding => ({ kind: "mapping_drift", reason: "fields_differ", subject: { type: "user", id }, stored: {}, expected: {}, action: "rewrite_mapped_fields" });
    for (const id of ["a", "b", "c"]) log.add(drift(id));
    log.add({ kind: "stale_team", reason: "untouched_without_active_members", subject: { type: "team", id: "t" }, stored: {}, expected: {}, action: null });
    const summary = log.summary({ kinds: ["mapping_drift", "stale_team"], staleTeamDays: 30 });
    expect(summary.counts.mapping_drift).to.equal(3);
    expect(summary.counts.stale_team).to.equal(1);
    expect(summary).to.deep.include({ total: 4, repairable: 3, findings_stored: 3, findings_truncated: true });
  });

  it("records repair outcomes on the findings and in the summary", () => {
    const log = new FindingLog();
    const finding: Finding = { kind: "stale_membership", reason: "team_deleted", subject: { type: "membership", team_id: "t", user_id: "u" }, stored: {}, expected: {}, action: "delete_membership" };
    log.add(finding);
    log.recordRepair(finding, "failed", "deadlock detected");
    expect(finding.repair).to.deep.equal({ outcome: "failed", error: "deadlock detected" });
    expect(log.summary({ kinds: ["stale_membership"], staleTeamDays: 30 })).to.deep.include({ repaired: 0, repair_failed: 1 });
  });
});
