import type { Finding, FindingKind } from "../../reconciler/types.ts";

/** What a repair of one kind of finding would touch, for the confirmation an admin must give. */
export type BlastRadius = {
  kind: FindingKind;
  findings: number;
  repairable: number;
  usersAffected: number;
  membershipsRemoved: number;
  membershipsSuspended: number;
  activeUsers: number;
  /** Share of the organization's active users the repair would change (0..1). */
  ratio: number;
  /** True when the repair would change more than MAX_QUIET_RATIO of active users. */
  large: boolean;
};

/** Above this share of active users a repair gets an explicit warning (the directory reconciler's default). */
export const MAX_QUIET_RATIO = 0.2;

function userOf(finding: Finding): string | undefined {
  const s = finding.subject;
  if (s.type === "user") return s.id;
  if (s.type === "membership") return s.user_id;
  return undefined;
}

/** Counts what repairing the findings of one kind would change. Pure. */
export function blastRadius(findings: Finding[], kind: FindingKind, activeUsers: number): BlastRadius {
  const ofKind = findings.filter((f) => f.kind === kind);
  const repairable = ofKind.filter((f) => f.action !== null);
  const users = new Set(repairable.map(userOf).filter((id): id is string => id !== undefined));
  const count = (action: Finding["action"]) => repairable.filter((f) => f.action === action).length;
  const ratio = activeUsers === 0 ? (users.size > 0 ? 1 : 0) : users.size / activeUsers;
  return {
    kind,
    findings: ofKind.length,
    repairable: repairable.length,
    usersAffected: users.size,
    membershipsRemoved: count("delete_membership") + count("delete_pending_membership"),
    membershipsSuspended: count("suspend_membership"),
    activeUsers,
    ratio,
    large: ratio > MAX_QUIET_RATIO,
  };
}
