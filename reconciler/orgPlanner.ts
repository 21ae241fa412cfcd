/*
 * Pure planning for organization-wide checks that are not about one user: pending memberships,
 * teams the IdP forgot, and duplicate emails.
 */
import type { DuplicateEmail, Finding, PendingSnapshot, TeamSnapshot } from "./types.ts";

const DAY_MS = 86_400_000;

/** Expired pending memberships (deleted by a repair) and pending ones a live user should have claimed. */
export function planPendingBatch(rows: PendingSnapshot[], now: Date): Finding[] {
  const findings: Finding[] = [];
  for (const p of rows) {
    const subject = { type: "pending_membership" as const, id: p.id, team_id: p.team_id, member_value: p.member_value };
    if (p.expires_at.getTime() <= now.getTime()) {
      findings.push({
        kind: "expired_pending_membership", reason: "expired", subject,
        stored: { expires_at: p.expires_at.getTime() }, expected: { pending_membership: null }, action: "delete_pending_membership",
      });
    } else if (p.known_user_id !== null) {
      // The user arrived but the pending entry was never claimed (e.g. a create raced the group push).
      findings.push({
        kind: "broken_invariant", reason: "pending_membership_for_known_user", subject,
        stored: { user_id: p.known_user_id, expires_at: p.expires_at.getTime() },
        expected: { membership: { team_id: p.team_id, user_id: p.known_user_id } }, action: null,
      });
    }
  }
  return findings;
}

/** Teams the IdP has not touched for `staleDays` and that have no active member; reported, never deleted. */
export function planTeamBatch(rows: TeamSnapshot[], now: Date, staleDays: number): Finding[] {
  const cutoff = now.getTime() - staleDays * DAY_MS;
  return rows
    .filter((t) => t.idp_touched_at.getTime() < cutoff && t.active_members === 0)
    .map((t): Finding => ({
      kind: "stale_team",
      reason: "untouched_without_active_members",
      subject: { type: "team", id: t.id },
      stored: { display_name: t.display_name, idp_touched_at: t.idp_touched_at.getTime(), active_members: 0 },
      expected: { idp_touched_after: cutoff },
      action: null,
    }));
}

/** Two or more active users of one organization with the same email (the unique identifier). */
export function planDuplicateEmails(rows: DuplicateEmail[]): Finding[] {
  return rows
    .filter((d) => d.user_ids.length > 1)
    .map((d): Finding => ({
      kind: "broken_invariant",
      reason: "duplicate_active_email",
      subject: { type: "email", email: d.email },
      stored: { user_ids: d.user_ids },
      expected: { active_users: 1 },
      action: null,
    }));
}
