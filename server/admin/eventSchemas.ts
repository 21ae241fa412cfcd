import { z } from "zod";
import type { EventCursor } from "../commands/eventFeed.ts";
import { WEBHOOK_EVENT_TYPES, type WebhookEventType } from "../webhooks/eventPayload.ts";

/*
 * The Events API's query: `after` (an opaque cursor), `limit` and `types`.
 *
 * A cursor is base64url of a small JSON array [version, organization id, xid, seq]: the position of
 * the last event a consumer was handed (server/models/eventQueries.ts). Naming the organization lets
 * the API refuse another organization's cursor (a consumer mixing up its streams) instead of
 * silently reading from a position that means nothing there.
 */

/** Events per page when `limit` is absent, and the most one page holds. */
export const EVENTS_DEFAULT_LIMIT = 100;
export const EVENTS_MAX_LIMIT = 1000;

const CURSOR_VERSION = 1;
const MAX_XID8 = 18_446_744_073_709_551_615n;

/** Encodes a stream position of an organization as an opaque cursor. */
export function encodeEventCursor(cursor: EventCursor): string {
  return Buffer.from(JSON.stringify([CURSOR_VERSION, cursor.organizationId, cursor.xid, cursor.seq])).toString("base64url");
}

const cursorBody = z.tuple([
  z.literal(CURSOR_VERSION),
  z.string().min(1).max(64),
  z.string().regex(/^(0|[1-9][0-9]{0,19})$/).refine((xid) => BigInt(xid) <= MAX_XID8),
  z.number().int().min(0).max(Number.MAX_SAFE_INTEGER),
]);

function decodeCursor(value: string): EventCursor | null {
  if (!/^[A-Za-z0-9_-]{1,256}$/.test(value)) return null;
  let parsed: unknown;
  try {
    parsed = JSON.parse(Buffer.from(value, "base64url").toString("utf8"));
  } catch {
    return null;
  }
  const body = cursorBody.safeParse(parsed);
  return body.success ? { organizationId: body.data[1], xid: body.data[2], seq: body.data[3] } : null;
}

const cursor = z.string({ message: "must be one cursor" }).transform((value, ctx) => {
  const decoded = decodeCursor(value);
  if (decoded) return decoded;
  ctx.addIssue({ code: "custom", message: "is not a cursor of this events list; pass next_cursor from a previous page unchanged" });
  return z.NEVER;
});

const eventType = z.enum(WEBHOOK_EVENT_TYPES as [WebhookEventType, ...WebhookEventType[]], {
  message: `must be event types separated by commas, each one of ${WEBHOOK_EVENT_TYPES.join(", ")}`,
});

/** `types=a,b`: the distinct event types asked for. */
const typesList = z
  .string({ message: "must be one list of event types separated by commas" })
  .max(1000, "must be at most 1000 characters")
  .transform((value) => value.split(",").map((t) => t.trim()).filter((t) => t !== ""))
  .pipe(z.array(eventType).min(1, "must name at least one event type"))
  .transform((types) => [...new Set(types)]);

/** GET …/events: a cursor from a previous page, the page size and an event type filter. */
export const eventsQuery = z.object({
  after: cursor.optional().describe("next_cursor of a previous page; absent: from the oldest event kept"),
  limit: z.coerce
    .number()
    .int("must be a whole number")
    .min(1, "must be at least 1")
    .max(EVENTS_MAX_LIMIT, `must be at most ${EVENTS_MAX_LIMIT}`)
    .default(EVENTS_DEFAULT_LIMIT)
    .describe(`events per page, at most ${EVENTS_MAX_LIMIT}`),
  types: typesList.optional().describe("event types separated by commas; absent: every type"),
});

export type EventsQuery = z.infer<typeof eventsQuery>;
