import type { Sequelize } from "sequelize";
import { ValidationError } from "../errors.ts";
import { comparePositions, pageOfEvents, STREAM_START, type EventPosition, type EventRow } from "../models/eventQueries.ts";

/** A position in one organization's event stream: what an Events API cursor holds. */
export type EventCursor = EventPosition & { organizationId: string };

/** One page of the Events API: the events, where to continue, and whether more are visible right now. */
export type EventFeedPage = { events: EventRow[]; next: EventCursor; hasMore: boolean };

/**
 * The organization's events after `after` (from the start of what retention kept when absent), in
 * stream order (server/models/eventQueries.ts).
 *
 * The next cursor is the last event handed out when the page is full. When it is not, every event
 * visible now has been looked at, so the cursor moves on to the newest visible event of the
 * organization, even one the `types` filter left out: a consumer filtering for a rare type does not
 * rescan the same skipped events on every poll. With nothing new it stays where it was, and polling
 * it later returns what has committed since.
 */
export async function readEventFeed(
  sequelize: Sequelize,
  organizationId: string,
  query: { after?: EventCursor | undefined; limit: number; types?: readonly string[] | undefined },
): Promise<EventFeedPage> {
  if (query.after && query.after.organizationId !== organizationId) {
    throw new ValidationError("after: the cursor belongs to another organization's events; pass next_cursor from this organization's list.", { field: "after" });
  }
  const after: EventPosition = query.after ? { xid: query.after.xid, seq: query.after.seq } : STREAM_START;
  const { events, head } = await pageOfEvents(sequelize, organizationId, { after, types: query.types ?? null, limit: query.limit + 1 });
  const hasMore = events.length > query.limit;
  const page = events.slice(0, query.limit);
  let next: EventPosition = page.at(-1) ?? after;
  if (!hasMore && head && comparePositions(head, next) > 0) next = head;
  return { events: page, next: { organizationId, xid: next.xid, seq: next.seq }, hasMore };
}
