import type { MigrationParams } from "../server/db/migrator.ts";

/**
 * Webhook endpoint formats and secret rotation (SPEC "Events API and SCIM standards"), and the
 * asymmetric key SCIM security events are signed with.
 *
 * - format: 'standard-webhooks' (the JSON body signed with the endpoint secret, as before) or
 *   'scim-events' (RFC 8417 Security Event Tokens with RFC 9967 event URIs, pushed per RFC 8935).
 * - scim_events_mode: whether a SET carries the resource ('full', RFC 9967 "data") or only the
 *   names of its attributes ('notice'); ignored for standard-webhooks endpoints.
 * - previous_secret / previous_secret_expires_at: the secret a rotation replaced, sealed like
 *   `secret`, still signing (next to the new one) until it expires.
 * - webhook_signing_keys: the ES256 key pairs SETs are signed with, published at
 *   /.well-known/jwks.json. The private key is sealed (server/crypto/secretBox.ts, bound to the kid).
 *   One active key per purpose: replicas racing to create the first one insert with ON CONFLICT
 *   DO NOTHING against the partial unique index, and all use the row that won.
 */
export async function up({ context: sql }: MigrationParams): Promise<void> {
  await sql(`
    ALTER TABLE webhook_endpoints
      ADD COLUMN format text NOT NULL DEFAULT 'standard-webhooks' CHECK (format IN ('standard-webhooks', 'scim-events')),
      ADD COLUMN scim_events_mode text NOT NULL DEFAULT 'full' CHECK (scim_events_mode IN ('full', 'notice')),
      ADD COLUMN previous_secret text,
      ADD COLUMN previous_secret_expires_at timestamptz;

    CREATE TABLE webhook_signing_keys (
      id           text PRIMARY KEY,
      purpose      text NOT NULL,
      algorithm    text NOT NULL,
      public_jwk   jsonb NOT NULL,
      private_key  text NOT NULL,
      created_at   timestamptz NOT NULL,
      retired_at   timestamptz
    );
    CREATE UNIQUE INDEX webhook_signing_keys_active_idx ON webhook_signing_keys (purpose) WHERE retired_at IS NULL;
  `);
}

export async function down({ context: sql }: MigrationParams): Promise<void> {
  await sql(`
    DROP TABLE IF EXISTS webhook_signing_keys;
    ALTER TABLE webhook_endpoints
      DROP COLUMN IF EXISTS previous_secret_expires_at,
      DROP COLUMN IF EXISTS previous_secret,
      DROP COLUMN IF EXISTS scim_events_mode,
      DROP COLUMN IF EXISTS format;
  `);
}
