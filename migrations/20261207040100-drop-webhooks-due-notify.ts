import type { MigrationParams } from "../server/db/migrator.ts";

/**
 * Drops the NOTIFY that 20261207040000 fired from every statement inserting webhook deliveries.
 * A transaction that has issued NOTIFY takes one cluster-wide lock at commit and holds it through
 * its WAL flush (PostgreSQL's async.c, PreCommit_Notify), so every SCIM write that announced an
 * event committed one at a time: 32 concurrent creates fell from 561/s to 127/s on the bench
 * (BENCHMARKS.md). Dispatchers now poll briefly when idle instead (server/webhooks/dispatcher.ts).
 */
export async function up({ context: sql }: MigrationParams): Promise<void> {
  await sql(`
    DROP TRIGGER IF EXISTS webhook_deliveries_due ON webhook_deliveries;
    DROP FUNCTION IF EXISTS rollcall_notify_webhooks_due();
  `);
}

export async function down({ context: sql }: MigrationParams): Promise<void> {
  await sql(`
    CREATE FUNCTION rollcall_notify_webhooks_due() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
      IF EXISTS (SELECT 1 FROM inserted) THEN
        PERFORM pg_notify('rollcall_webhooks_due', '');
      END IF;
      RETURN NULL;
    END
    $$;
    CREATE TRIGGER webhook_deliveries_due AFTER INSERT ON webhook_deliveries
      REFERENCING NEW TABLE AS inserted
      FOR EACH STATEMENT EXECUTE FUNCTION rollcall_notify_webhooks_due();
  `);
}
