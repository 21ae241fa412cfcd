import type { Sequelize, Transaction } from "sequelize";
import { insertChange } from "../models/changeQueries.ts";
import type { OutboxEvent } from "./eventPayload.ts";

export {
  buildPayload,
  serializePayload,
  WEBHOOK_EVENT_TYPES,
  type EventPayload,
  type OutboxEvent,
  type WebhookEventType,
} from "./eventPayload.ts";
export { PARKED_UNTIL } from "./parked.ts";

/**
 * Writes an event (and its deliveries) into the outbox inside the caller's transaction, so change
 * and event commit together. Returns the msg_ id. Changes of users and teams go through
 * server/changes/recorder.ts instead, which also writes their audit row; this is for an event alone.
 */
export async function recordEvent(sequelize: Sequelize, transaction: Transaction, event: OutboxEvent, now: Date): Promise<string> {
  return (await insertChange(sequelize, transaction, { event }, now)).eventId!;
}
