import type { Sequelize } from "sequelize";
import type { EventPayload } from "../webhooks/eventPayload.ts";
import { select } from "./sql.ts";

/*
 * The Events API's read of the outbox (the rows server/models/changeQueries.ts writes).
 *
 * Order: (xid, seq), the writing transaction's id (xid8, filled by the column default
 * pg_current_xact_id()) and then the event's seq. Visibility: only events whose xid is below the
 * horizon, the oldest transaction of this database still running when the statement's snapshot was
 * taken (or the snapshot's xmax when none is). Every transaction of this database below the horizon
 * has finished, so an event that is not visible yet can only ever appear at a position above every
 * visible one: a cursor (the position of the last event a consumer saw) never has an event appear
 * behind it.
 *
 * The horizon is pg_snapshot_xmin(pg_current_snapshot()) without the transactions of other
 * databases of the cluster, which cannot write these events: a transaction left open in another
 * database would otherwise hold back every event. Those are told apart by pg_stat_activity, read
 * after the snapshot was taken: a transaction of the snapshot that it shows running in another
 * database is ignored; one it does not show (finished since, prepared, or hidden from this role)
 * still counts, which can only make the horizon lower, never wrongly higher. The cost is latency,
 * not correctness: while a write transaction of this database is open, events of transactions that
 * started after it wait for it to end.
 *
 * The page and the head (the newest visible event of the organization, whatever its type) are
 * read by one statement: pg_current_snapshot() is the statement's snapshot, the one that decides
 * which rows it sees, so the horizon, the page and the head all agree.
 */

/** A position in an organization's event stream: the writing transaction's id (xid8, as text) and seq. */
export type EventPosition = { xid: string; seq: number };

/** The start of every stream: before any event (rows written before the Events API have xid 0). */
export const STREAM_START: EventPosition = { xid: "0", seq: 0 };

/** One event as stored: the msg_ id (the webhook-id), its position and the webhook body it carries. */
export type EventRow = EventPosition & { id: string; type: string; payload: EventPayload; created_at: Date };

/** A page of visible events after a position, and the newest visible position of the organization. */
export type EventPage = { events: EventRow[]; head: EventPosition | null };

type Row = { kind: "event" | "head"; id: string | null; type: string | null; payload: EventPayload | null; created_at: Date | null; xid: string; seq: number };

const PAGE_SQL = `
  WITH snapshot AS (SELECT pg_current_snapshot() AS s),
  horizon AS (
    SELECT least(pg_snapshot_xmax(s), (
             SELECT min(x) FROM pg_snapshot_xip(s) AS x
              WHERE NOT EXISTS (
                SELECT 1 FROM pg_stat_activity a
                 WHERE a.backend_xid = x::xid
                   AND a.datid <> (SELECT oid FROM pg_database WHERE datname = current_database())))) AS xid
      FROM snapshot
  ),
  page AS (
    SELECT e.id, e.type, e.payload, e.created_at, e.xid, e.seq
      FROM events e
     WHERE e.organization_id = $1
       AND (e.xid, e.seq) > ($2::xid8, $3::bigint)
       AND e.xid < (SELECT xid FROM horizon)
       AND ($4::text[] IS NULL OR e.type = ANY ($4::text[]))
     ORDER BY e.xid, e.seq
     LIMIT $5
  ),
  head AS (
    SELECT e.xid, e.seq
      FROM events e
     WHERE e.organization_id = $1 AND e.xid < (SELECT xid FROM horizon)
     ORDER BY e.xid DESC, e.seq DESC
     LIMIT 1
  )
  SELECT 'event' AS kind, id, type, payload, created_at, xid::text AS xid, seq FROM page
  UNION ALL
  SELECT 'head', NULL, NULL, NULL, NULL, xid::text, seq FROM head`;

const byPosition = (a: EventPosition, b: EventPosition) => comparePositions(a, b);

/** Orders two positions as the stream does: by xid (compared as 64-bit integers), then seq. */
export function comparePositions(a: EventPosition, b: EventPosition): number {
  const ax = BigInt(a.xid);
  const bx = BigInt(b.xid);
  if (ax !== bx) return ax < bx ? -1 : 1;
  return a.seq - b.seq;
}

/**
 * At most `limit` visible events of the organization after `after`, in stream order, optionally
 * only of the given types; with the organization's newest visible position.
 */
export async function pageOfEvents(
  sequelize: Sequelize,
  organizationId: string,
  query: { after: EventPosition; types: readonly string[] | null; limit: number },
): Promise<EventPage> {
  const rows = await select<Row>(sequelize, PAGE_SQL, [organizationId, query.after.xid, query.after.seq, query.types, query.limit]);
  const headRow = rows.find((r) => r.kind === "head");
  const events = rows
    .filter((r) => r.kind === "event")
    .map((r) => ({ id: r.id!, type: r.type!, payload: r.payload!, created_at: r.created_at!, xid: r.xid, seq: r.seq }))
    .sort(byPosition);
  return { events, head: headRow ? { xid: headRow.xid, seq: headRow.seq } : null };
}
