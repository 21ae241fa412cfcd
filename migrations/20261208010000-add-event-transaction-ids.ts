import type { MigrationParams } from "../server/db/migrator.ts";

/**
 * The Events API (GET /v1/organizations/:org/events) reads events in the order of (xid, seq): the id
 * of the transaction that wrote the event, then the event's seq. `seq` alone is drawn at INSERT, so
 * a transaction holding seq 5 can commit after the one holding seq 6, and a poller that already
 * passed 6 would never see 5. The reader only shows events whose transaction is older than its
 * snapshot's xmin (every one of those has finished), so nothing can later appear before a cursor
 * (server/models/eventQueries.ts).
 *
 * The column defaults to pg_current_xact_id(), the top-level transaction id even inside a
 * savepoint: every writer (server/models/changeQueries.ts, and an older process during a rolling
 * deploy that does not know the column) fills it without naming it. Rows already there predate any
 * poller and get xid 0, so they come first, in seq order: adding the column with a constant default
 * rewrites nothing, and the ALTER's lock waits for transactions still inserting the old way.
 *
 * The (organization_id, xid, seq) index serves the org-scoped ordered read and replaces
 * (organization_id, seq), which nothing reads any more.
 */
export async function up({ context: sql }: MigrationParams): Promise<void> {
  await sql(`
    ALTER TABLE events ADD COLUMN xid xid8 NOT NULL DEFAULT '0';
    ALTER TABLE events ALTER COLUMN xid SET DEFAULT pg_current_xact_id();
    CREATE INDEX events_org_xid_idx ON events (organization_id, xid, seq);
    DROP INDEX IF EXISTS events_org_idx;
  `);
}

export async function down({ context: sql }: MigrationParams): Promise<void> {
  await sql(`
    CREATE INDEX IF NOT EXISTS events_org_idx ON events (organization_id, seq);
    DROP INDEX IF EXISTS events_org_xid_idx;
    ALTER TABLE events DROP COLUMN IF EXISTS xid;
  `);
}
