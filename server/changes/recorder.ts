import type { Sequelize, Transaction } from "sequelize";
import { insertChange } from "../models/changeQueries.ts";
import type { Change } from "./change.ts";

/**
 * Records a change (webhook event with its deliveries, audit row) in the caller's transaction, in
 * one statement: the change and its record commit together or not at all. A write that wants its
 * own row change in the same statement composes `changeCtes` (server/models/changeQueries.ts).
 * Returns the msg_ id of the event, if the change has one.
 */
export async function recordChange(db: { sequelize: Sequelize; transaction: Transaction }, change: Change, now: Date): Promise<string | null> {
  return (await insertChange(db.sequelize, db.transaction, change, now)).eventId;
}
