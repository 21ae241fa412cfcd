import type { EventFeedPage } from "../commands/eventFeed.ts";
import type { EventRow } from "../models/eventQueries.ts";
import { ms } from "./presenters.ts";
import { encodeEventCursor } from "./eventSchemas.ts";

/**
 * One event as the Events API shows it: its id (the `webhook-id` its deliveries carry), when it was
 * recorded, and the webhook body's own fields (type, object, timestamp, data) exactly as stored for
 * the deliveries (server/webhooks/eventPayload.ts buildPayload).
 */
export function presentEvent(row: EventRow) {
  const { type, object, timestamp, data } = row.payload;
  return { id: row.id, object, type, timestamp, created_at: ms(row.created_at), data };
}

/** A page of the Events API: always a next_cursor, to continue from now or to poll from later. */
export function presentEventPage(page: EventFeedPage) {
  return { object: "list" as const, data: page.events.map(presentEvent), has_more: page.hasMore, next_cursor: encodeEventCursor(page.next) };
}
