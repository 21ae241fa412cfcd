import { setUserMembershipStatus } from "../../models/membershipQueries.ts";
import type { UserRow } from "../../models/rows.ts";
import type { UserTransition } from "../../changes/payloads.ts";
import type { WriteContext } from "../../domain/writeContext.ts";

/*
 * A user's lifecycle, by name. An IdP never says "deactivate": Okta sends PATCH {active:false},
 * Entra a PATCH of `active` as the string "False", OneLogin a PUT without the user. The SCIM
 * commands turn all of them into a write of the user, and the writer (userWriter.ts) asks this
 * module which transition that write was and applies its side effects on memberships.
 */

/** Which transition a write from `before` (null: a new user) to `after` is, or null when nothing changed. */
export function transitionOf(before: UserRow | null, after: UserRow, teamsChanged: boolean): UserTransition | null {
  if (!before) return "created";
  if (!before.active && after.active) return "reactivated";
  if (before.active && !after.active) return "deactivated";
  return before.version === after.version && !teamsChanged ? null : "updated";
}

/** Deactivation keeps the user and its memberships, but the memberships stop granting access (suspended). */
export async function deactivateUser(ctx: WriteContext, userId: string): Promise<void> {
  await setUserMembershipStatus(ctx.sequelize, ctx.transaction, userId, "suspended", ctx.now);
}

/** Reactivation restores the access of every membership the deactivation suspended. */
export async function reactivateUser(ctx: WriteContext, userId: string): Promise<void> {
  await setUserMembershipStatus(ctx.sequelize, ctx.transaction, userId, "active", ctx.now);
}
