import type { MigrationParams } from "../server/db/migrator.ts";

/**
 * Admin portal sessions. One row is first a one-time link code (stored as its SHA-256, usable once,
 * until link_expires_at) and, once exchanged, a browser session (the cookie's SHA-256, until
 * expires_at). The admin key never reaches a browser; a session reaches one organization only.
 * Portal actions are audited with the session as actor, so audit_log accepts that actor type.
 */
export async function up({ context: sql }: MigrationParams): Promise<void> {
  await sql(`
    CREATE TABLE portal_sessions (
      id                text PRIMARY KEY,
      organization_id   text NOT NULL REFERENCES organizations(id) ON DELETE CASCADE,
      code_hash         bytea NOT NULL UNIQUE,
      link_expires_at   timestamptz NOT NULL,
      exchanged_at      timestamptz,
      session_hash      bytea UNIQUE,
      expires_at        timestamptz,
      ended_at          timestamptz,
      created_at        timestamptz NOT NULL DEFAULT now(),
      CONSTRAINT portal_sessions_exchange_complete CHECK ((exchanged_at IS NULL) = (session_hash IS NULL) AND (exchanged_at IS NULL) = (expires_at IS NULL))
    );
    CREATE INDEX portal_sessions_org_idx ON portal_sessions (organization_id, created_at);

    ALTER TABLE audit_log DROP CONSTRAINT IF EXISTS audit_log_actor_type_check;
    ALTER TABLE audit_log ADD CONSTRAINT audit_log_actor_type_check
      CHECK (actor_type IN ('scim_token','admin','reconciler','system','portal_session'));
  `);
}

export async function down({ context: sql }: MigrationParams): Promise<void> {
  await sql(`
    -- The audit rows stay; their actor becomes the admin on whose behalf the portal link was made.
    UPDATE audit_log SET actor_type = 'admin' WHERE actor_type = 'portal_session';
    ALTER TABLE audit_log DROP CONSTRAINT IF EXISTS audit_log_actor_type_check;
    ALTER TABLE audit_log ADD CONSTRAINT audit_log_actor_type_check
      CHECK (actor_type IN ('scim_token','admin','reconciler','system'));
    DROP TABLE IF EXISTS portal_sessions;
  `);
}
