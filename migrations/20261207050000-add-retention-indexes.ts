import type { MigrationParams } from "../server/db/migrator.ts";

// The retention job (server/retention/) deletes by age; without these it would scan whole tables.
export async function up({ context: sql }: MigrationParams): Promise<void> {
  await sql(`
    CREATE INDEX IF NOT EXISTS scim_request_log_created_idx ON scim_request_log (created_at);
    CREATE INDEX IF NOT EXISTS events_created_idx ON events (created_at);
    CREATE INDEX IF NOT EXISTS webhook_attempts_attempted_idx ON webhook_attempts (attempted_at);
  `);
}

export async function down({ context: sql }: MigrationParams): Promise<void> {
  await sql(`
    DROP INDEX IF EXISTS scim_request_log_created_idx;
    DROP INDEX IF EXISTS events_created_idx;
    DROP INDEX IF EXISTS webhook_attempts_attempted_idx;
  `);
}
