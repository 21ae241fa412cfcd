import type { MigrationParams } from "../server/db/migrator.ts";

/**
 * An enterprise connection's read-only access to its IdP's own API, for reconciling against the
 * IdP. One per connection. `credentials` is sealed (AES-256-GCM, server/crypto/secretBox.ts) and
 * never leaves the process in clear; `public_credentials` holds the non-secret fields the admin
 * API shows (client ids, the service account's email). `state` keeps incremental-run cursors
 * (Graph delta links, Okta's last-updated watermark) and is cleared when the settings change.
 */
export async function up({ context: sql }: MigrationParams): Promise<void> {
  await sql(`
    CREATE TABLE directory_connections (
      id                        text PRIMARY KEY,
      organization_id           text NOT NULL REFERENCES organizations(id) ON DELETE CASCADE,
      enterprise_connection_id  text NOT NULL,
      provider                  text NOT NULL CHECK (provider IN ('okta','entra','google','onelogin')),
      settings                  jsonb NOT NULL DEFAULT '{}'::jsonb,
      public_credentials        jsonb NOT NULL DEFAULT '{}'::jsonb,
      credentials               text NOT NULL,
      max_deactivation_ratio    double precision NOT NULL DEFAULT 0.2 CHECK (max_deactivation_ratio >= 0 AND max_deactivation_ratio <= 1),
      interval_minutes          integer NOT NULL DEFAULT 60 CHECK (interval_minutes >= 5),
      full_every_hours          integer NOT NULL DEFAULT 24 CHECK (full_every_hours >= 1),
      state                     jsonb NOT NULL DEFAULT '{}'::jsonb,
      last_run_at               timestamptz,
      last_full_run_at          timestamptz,
      created_at                timestamptz NOT NULL DEFAULT now(),
      updated_at                timestamptz NOT NULL DEFAULT now(),
      UNIQUE (enterprise_connection_id),
      FOREIGN KEY (organization_id, enterprise_connection_id) REFERENCES enterprise_connections (organization_id, id) ON DELETE CASCADE
    );
    CREATE INDEX directory_connections_org_idx ON directory_connections (organization_id, id);
  `);
}

export async function down({ context: sql }: MigrationParams): Promise<void> {
  await sql(`DROP TABLE IF EXISTS directory_connections;`);
}
