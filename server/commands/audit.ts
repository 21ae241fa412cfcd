import type { Sequelize, Transaction } from "sequelize";
import { newId } from "../ids.ts";
import { execute } from "../models/sql.ts";
import { BindList } from "../db/bindList.ts";

export type Actor = { type: "scim_token" | "admin" | "reconciler" | "system" | "portal_session"; id: string | null };

export type AuditEntry = {
  organizationId: string;
  actor: Actor;
  action: string;
  subjectType: "user" | "team" | "attribute_mapping" | "webhook_endpoint" | "organization" | "scim_token" | "webhook_delivery" | "reconcile_run" | "portal_session" | "directory_connection";
  subjectId: string;
  changes?: Record<string, unknown>;
};

/** The audit row as a CTE (`audit_row`) of a larger statement, written only if `onlyIfRowIn` produced a row. */
export function auditCte(entry: AuditEntry, now: Date, bind: BindList, onlyIfRowIn?: string): string {
  return `
  audit_row AS (
    INSERT INTO audit_log (id, organization_id, actor_type, actor_id, action, subject_type, subject_id, changes, created_at)
    SELECT ${bind.add(newId("audit"))}, ${bind.add(entry.organizationId)}, ${bind.add(entry.actor.type)}, ${bind.add(entry.actor.id)}::text,
           ${bind.add(entry.action)}, ${bind.add(entry.subjectType)}, ${bind.add(entry.subjectId)}, ${bind.add(JSON.stringify(entry.changes ?? {}))}::jsonb,
           ${bind.add(now)}::timestamptz
    ${onlyIfRowIn ? `WHERE EXISTS (SELECT 1 FROM ${onlyIfRowIn})` : ""}
    RETURNING 1
  )`;
}

/** Writes an audit row inside the caller's transaction, so the change and its record commit together. */
export async function writeAudit(sequelize: Sequelize, transaction: Transaction, entry: AuditEntry, now: Date): Promise<void> {
  const bind = new BindList();
  await execute(sequelize, `WITH ${auditCte(entry, now, bind)} SELECT 1`, bind.values, transaction);
}
