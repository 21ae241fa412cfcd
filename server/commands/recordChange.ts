import type { Sequelize, Transaction } from "sequelize";
import { execute } from "../models/sql.ts";
import { BindList } from "../db/bindList.ts";
import { outboxCtes, type OutboxEvent } from "../webhooks/outbox.ts";
import { auditCte, type AuditEntry } from "./audit.ts";

/**
 * Writes a change's outbox event (with its deliveries) and its audit row in one statement of the
 * caller's transaction: one round trip instead of two, and still committed with the change itself.
 */
export async function recordChange(sequelize: Sequelize, transaction: Transaction, event: OutboxEvent, audit: AuditEntry, now: Date): Promise<string> {
  const bind = new BindList();
  const outbox = outboxCtes(event, now, bind);
  await execute(sequelize, `WITH ${outbox.sql}, ${auditCte(audit, now, bind)} SELECT 1`, bind.values, transaction);
  return outbox.eventId;
}
