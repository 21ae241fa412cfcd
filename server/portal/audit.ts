import type { Sequelize } from "sequelize";
import type { AuditEntry } from "../changes/change.ts";
import { auditedOnly } from "../changes/payloads.ts";
import { recordChange } from "../changes/recorder.ts";
import type { PortalSession } from "./context.ts";

/**
 * Records a portal action with the portal session as actor. The commands the portal reuses write
 * their own rows for the changes they make (or none); this row says that a portal user asked for it.
 */
export async function auditPortalAction(
  sequelize: Sequelize,
  session: PortalSession,
  entry: Pick<AuditEntry, "action" | "subjectType" | "subjectId" | "changes">,
  now: Date,
): Promise<void> {
  const by = { organizationId: session.organizationId, actor: portalActor(session) };
  await sequelize.transaction((transaction) => recordChange({ sequelize, transaction }, auditedOnly(by, entry), now));
}

/** The audit actor of a portal session. */
export function portalActor(session: PortalSession) {
  return { type: "portal_session" as const, id: session.id };
}
