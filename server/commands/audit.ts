import type { Sequelize, Transaction } from "sequelize";
import { newId } from "../ids.ts";
import { execute } from "../models/sql.ts";

export type Actor = { type: "scim_token" | "admin" | "reconciler" | "system"; id: string | null };

export type AuditEntry = {
  organizationId: string;
  actor: Actor;
  action: string;
  subjectType: "user" | "team" | "attribute_mapping" | "webhook_endpoint" | "organization";
  subjectId: string;
  changes?: Record<string, unknown>;
};

/** Writes an audit row inside the caller's transaction, so the change and its record commit together. */
export async function writeAudit(sequelize: Sequelize, transaction: Transaction, entry: AuditEntry, now: Date): Promise<void> {
  await execute(
    sequelize,
    `INSERT INTO audit_log (id, organization_id, actor_type, actor_id, action, subject_type, subject_id, changes, created_at)
     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)`,
    [newId("audit"), entry.organizationId, entry.actor.type, entry.actor.id, entry.action, entry.subjectType, entry.subjectId, JSON.stringify(entry.changes ?? {}), now],
    transaction,
  );
}
