import type { MigrationParams } from "../server/db/migrator.ts";

/**
 * Endpoint health for the dispatcher's circuit breaker (server/webhooks/circuitBreaker.ts), and a
 * wake-up for dispatchers when deliveries are written.
 *
 * - consecutive_failures / failing_since: the current streak of failed attempts to the endpoint.
 * - circuit_open_until: set while the endpoint as a whole is backed off; its pending deliveries are
 *   parked (next_attempt_at far in the future) and one probe is released when this time passes.
 * - disabled_reason: why `enabled` is false ('failing' when the breaker gave up, 'admin' by PATCH).
 *
 * The NOTIFY is statement-level and only when the statement inserted a delivery, so a SCIM write in
 * an organization without endpoints notifies nobody, and a transaction notifies at most once per
 * statement (PostgreSQL folds identical notifications of one transaction into one).
 */
export async function up({ context: sql }: MigrationParams): Promise<void> {
  await sql(`
    ALTER TABLE webhook_endpoints
      ADD COLUMN consecutive_failures integer NOT NULL DEFAULT 0,
      ADD COLUMN failing_since timestamptz,
      ADD COLUMN circuit_open_until timestamptz,
      ADD COLUMN disabled_reason text CHECK (disabled_reason IN ('failing', 'admin'));
    CREATE INDEX webhook_endpoints_circuit_idx ON webhook_endpoints (circuit_open_until) WHERE circuit_open_until IS NOT NULL;

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

export async function down({ context: sql }: MigrationParams): Promise<void> {
  await sql(`
    DROP TRIGGER IF EXISTS webhook_deliveries_due ON webhook_deliveries;
    DROP FUNCTION IF EXISTS rollcall_notify_webhooks_due();
    DROP INDEX IF EXISTS webhook_endpoints_circuit_idx;
    ALTER TABLE webhook_endpoints
      DROP COLUMN IF EXISTS disabled_reason,
      DROP COLUMN IF EXISTS circuit_open_until,
      DROP COLUMN IF EXISTS failing_since,
      DROP COLUMN IF EXISTS consecutive_failures;
  `);
}
