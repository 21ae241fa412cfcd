import type { MigrationParams } from "../server/db/migrator.ts";

/**
 * The whole product's data model. Invariants live here as constraints and unique indexes, so
 * they hold even if application code is wrong or two requests race.
 */
export async function up({ context: sql }: MigrationParams): Promise<void> {
  await sql(`
    CREATE TABLE organizations (
      id               text PRIMARY KEY,
      name             text NOT NULL CHECK (length(name) BETWEEN 1 AND 200),
      slug             text NOT NULL UNIQUE CHECK (slug ~ '^[a-z0-9][a-z0-9-]{0,62}$'),
      scim_rate_limit  integer CHECK (scim_rate_limit >= 0),
      settings         jsonb NOT NULL DEFAULT '{}'::jsonb,
      created_at       timestamptz NOT NULL DEFAULT now(),
      updated_at       timestamptz NOT NULL DEFAULT now()
    );

    CREATE TABLE enterprise_connections (
      id               text PRIMARY KEY,
      organization_id  text NOT NULL REFERENCES organizations(id) ON DELETE CASCADE,
      name             text NOT NULL CHECK (length(name) BETWEEN 1 AND 200),
      provider         text NOT NULL CHECK (provider IN ('okta','entra','onelogin','jumpcloud','google','generic')),
      is_default       boolean NOT NULL DEFAULT false,
      created_at       timestamptz NOT NULL DEFAULT now(),
      updated_at       timestamptz NOT NULL DEFAULT now(),
      UNIQUE (organization_id, id)
    );
    CREATE INDEX enterprise_connections_org_idx ON enterprise_connections (organization_id, id);
    CREATE UNIQUE INDEX enterprise_connections_one_default ON enterprise_connections (organization_id) WHERE is_default;

    CREATE TABLE scim_tokens (
      id                        text PRIMARY KEY,
      organization_id           text NOT NULL REFERENCES organizations(id) ON DELETE CASCADE,
      enterprise_connection_id  text NOT NULL,
      name                      text NOT NULL CHECK (length(name) BETWEEN 1 AND 200),
      prefix                    text NOT NULL,
      token_hash                bytea NOT NULL UNIQUE,
      last_used_at              timestamptz,
      revoked_at                timestamptz,
      created_at                timestamptz NOT NULL DEFAULT now(),
      FOREIGN KEY (organization_id, enterprise_connection_id) REFERENCES enterprise_connections (organization_id, id)
    );
    CREATE INDEX scim_tokens_org_idx ON scim_tokens (organization_id, id);

    CREATE TABLE users (
      id                        text PRIMARY KEY,
      organization_id           text NOT NULL REFERENCES organizations(id) ON DELETE CASCADE,
      enterprise_connection_id  text NOT NULL,
      external_id               text,   -- the SCIM externalId: the IdP's idempotency key
      user_name                 text NOT NULL CHECK (length(user_name) BETWEEN 1 AND 512),
      app_external_id           text,   -- the app's external_id field, as the mapping produced it
      email_address             text,
      first_name                text,
      last_name                 text,
      active                    boolean NOT NULL DEFAULT true,
      deleted_at                timestamptz,
      organization_role         text NOT NULL DEFAULT 'org:member',
      public_metadata           jsonb NOT NULL DEFAULT '{}'::jsonb,
      private_metadata          jsonb NOT NULL DEFAULT '{}'::jsonb,
      scim_resource             jsonb NOT NULL,
      mapping_version           integer,
      mapping_errors            jsonb NOT NULL DEFAULT '[]'::jsonb,
      version                   integer NOT NULL DEFAULT 1,
      created_at                timestamptz NOT NULL DEFAULT now(),
      updated_at                timestamptz NOT NULL DEFAULT now(),
      FOREIGN KEY (organization_id, enterprise_connection_id) REFERENCES enterprise_connections (organization_id, id),
      UNIQUE (organization_id, id)
    );
    CREATE UNIQUE INDEX users_org_user_name_key ON users (organization_id, lower(user_name)) WHERE deleted_at IS NULL;
    CREATE UNIQUE INDEX users_conn_external_id_key ON users (enterprise_connection_id, external_id)
      WHERE deleted_at IS NULL AND external_id IS NOT NULL;
    CREATE INDEX users_org_page_idx ON users (organization_id, created_at, id) WHERE deleted_at IS NULL;
    CREATE INDEX users_org_id_idx ON users (organization_id, id);
    CREATE INDEX users_org_email_idx ON users (organization_id, lower(email_address)) WHERE deleted_at IS NULL;
    CREATE INDEX users_org_external_id_idx ON users (organization_id, external_id) WHERE deleted_at IS NULL;

    CREATE TABLE teams (
      id                        text PRIMARY KEY,
      organization_id           text NOT NULL REFERENCES organizations(id) ON DELETE CASCADE,
      enterprise_connection_id  text NOT NULL,
      display_name              text NOT NULL CHECK (length(display_name) BETWEEN 1 AND 512),
      external_id               text,
      scim_resource             jsonb NOT NULL DEFAULT '{}'::jsonb,
      deleted_at                timestamptz,
      version                   integer NOT NULL DEFAULT 1,
      idp_touched_at            timestamptz NOT NULL DEFAULT now(),
      members_synced_at         timestamptz,
      created_at                timestamptz NOT NULL DEFAULT now(),
      updated_at                timestamptz NOT NULL DEFAULT now(),
      FOREIGN KEY (organization_id, enterprise_connection_id) REFERENCES enterprise_connections (organization_id, id),
      UNIQUE (organization_id, id)
    );
    CREATE UNIQUE INDEX teams_org_display_name_key ON teams (organization_id, lower(display_name)) WHERE deleted_at IS NULL;
    CREATE INDEX teams_org_external_id_idx ON teams (organization_id, external_id) WHERE deleted_at IS NULL;
    CREATE INDEX teams_org_page_idx ON teams (organization_id, created_at, id) WHERE deleted_at IS NULL;

    -- status: active, or suspended while the user is deactivated (access revoked, row kept).
    -- source: how the membership arose: a group PATCH/PUT, or a user's own groups attribute.
    CREATE TABLE team_memberships (
      organization_id   text NOT NULL,
      team_id           text NOT NULL,
      user_id           text NOT NULL,
      status            text NOT NULL DEFAULT 'active' CHECK (status IN ('active','suspended')),
      source            text NOT NULL DEFAULT 'group' CHECK (source IN ('group','user_groups','reconciler')),
      confirmed_at      timestamptz NOT NULL DEFAULT now(),
      created_at        timestamptz NOT NULL DEFAULT now(),
      updated_at        timestamptz NOT NULL DEFAULT now(),
      PRIMARY KEY (team_id, user_id),
      FOREIGN KEY (organization_id, team_id) REFERENCES teams (organization_id, id) ON DELETE CASCADE,
      FOREIGN KEY (organization_id, user_id) REFERENCES users (organization_id, id) ON DELETE CASCADE
    );
    CREATE INDEX team_memberships_user_idx ON team_memberships (user_id);
    CREATE INDEX team_memberships_org_idx ON team_memberships (organization_id, team_id);

    -- A member value that named no known user yet (IdP traffic arrives out of order).
    CREATE TABLE pending_memberships (
      id                text PRIMARY KEY,
      organization_id   text NOT NULL,
      team_id           text NOT NULL,
      member_value      text NOT NULL,
      expires_at        timestamptz NOT NULL,
      created_at        timestamptz NOT NULL DEFAULT now(),
      UNIQUE (team_id, member_value),
      FOREIGN KEY (organization_id, team_id) REFERENCES teams (organization_id, id) ON DELETE CASCADE
    );
    CREATE INDEX pending_memberships_lookup_idx ON pending_memberships (organization_id, member_value);

    CREATE TABLE attribute_mappings (
      id                text PRIMARY KEY,
      organization_id   text NOT NULL REFERENCES organizations(id) ON DELETE CASCADE,
      version           integer NOT NULL CHECK (version >= 1),
      mapping           jsonb NOT NULL,
      created_at        timestamptz NOT NULL DEFAULT now(),
      UNIQUE (organization_id, version)
    );

    CREATE TABLE webhook_endpoints (
      id                text PRIMARY KEY,
      organization_id   text NOT NULL REFERENCES organizations(id) ON DELETE CASCADE,
      url               text NOT NULL,
      events            text[] NOT NULL DEFAULT '{}',
      secret            text NOT NULL,
      enabled           boolean NOT NULL DEFAULT true,
      deleted_at        timestamptz,
      created_at        timestamptz NOT NULL DEFAULT now(),
      updated_at        timestamptz NOT NULL DEFAULT now(),
      UNIQUE (organization_id, id)
    );

    -- The outbox: written in the same transaction as the change it describes.
    -- seq gives a total order, so events about one subject are delivered in the order they happened.
    CREATE TABLE events (
      id                text PRIMARY KEY,
      seq               bigserial NOT NULL UNIQUE,
      organization_id   text NOT NULL REFERENCES organizations(id) ON DELETE CASCADE,
      type              text NOT NULL,
      subject_id        text,
      payload           jsonb NOT NULL,
      fanned_out_at     timestamptz,
      created_at        timestamptz NOT NULL DEFAULT now()
    );
    CREATE INDEX events_unfanned_idx ON events (seq) WHERE fanned_out_at IS NULL;
    CREATE INDEX events_org_idx ON events (organization_id, seq);

    CREATE TABLE webhook_deliveries (
      id                text PRIMARY KEY,
      organization_id   text NOT NULL,
      event_id          text NOT NULL REFERENCES events(id) ON DELETE CASCADE,
      endpoint_id       text NOT NULL,
      event_seq         bigint NOT NULL,
      subject_id        text,
      status            text NOT NULL DEFAULT 'pending' CHECK (status IN ('pending','succeeded','failed')),
      attempt_count     integer NOT NULL DEFAULT 0,
      next_attempt_at   timestamptz NOT NULL DEFAULT now(),
      last_attempt_at   timestamptz,
      completed_at      timestamptz,
      created_at        timestamptz NOT NULL DEFAULT now(),
      UNIQUE (event_id, endpoint_id),
      FOREIGN KEY (organization_id, endpoint_id) REFERENCES webhook_endpoints (organization_id, id) ON DELETE CASCADE
    );
    CREATE INDEX webhook_deliveries_due_idx ON webhook_deliveries (next_attempt_at) WHERE status = 'pending';
    CREATE INDEX webhook_deliveries_order_idx ON webhook_deliveries (endpoint_id, subject_id, event_seq) WHERE status = 'pending';
    CREATE INDEX webhook_deliveries_org_idx ON webhook_deliveries (organization_id, status, id);

    CREATE TABLE webhook_attempts (
      id                text PRIMARY KEY,
      delivery_id       text NOT NULL REFERENCES webhook_deliveries(id) ON DELETE CASCADE,
      attempted_at      timestamptz NOT NULL DEFAULT now(),
      status_code       integer,
      latency_ms        integer NOT NULL,
      response_excerpt  text,
      error             text
    );
    CREATE INDEX webhook_attempts_delivery_idx ON webhook_attempts (delivery_id, attempted_at);

    CREATE TABLE audit_log (
      id                text PRIMARY KEY,
      organization_id   text NOT NULL REFERENCES organizations(id) ON DELETE CASCADE,
      actor_type        text NOT NULL CHECK (actor_type IN ('scim_token','admin','reconciler','system')),
      actor_id          text,
      action            text NOT NULL,
      subject_type      text NOT NULL,
      subject_id        text NOT NULL,
      changes           jsonb NOT NULL DEFAULT '{}'::jsonb,
      created_at        timestamptz NOT NULL DEFAULT now()
    );
    CREATE INDEX audit_log_subject_idx ON audit_log (organization_id, subject_id, created_at);

    CREATE TABLE scim_request_log (
      id                text PRIMARY KEY,
      organization_id   text NOT NULL REFERENCES organizations(id) ON DELETE CASCADE,
      token_id          text,
      request_id        text NOT NULL,
      method            text NOT NULL,
      path              text NOT NULL,
      status            integer NOT NULL,
      duration_ms       integer NOT NULL,
      outcome           text NOT NULL,
      error             text,
      created_at        timestamptz NOT NULL DEFAULT now()
    );
    CREATE INDEX scim_request_log_org_idx ON scim_request_log (organization_id, id DESC);

    CREATE TABLE reconcile_runs (
      id                text PRIMARY KEY,
      organization_id   text NOT NULL REFERENCES organizations(id) ON DELETE CASCADE,
      status            text NOT NULL CHECK (status IN ('running','succeeded','failed','skipped')),
      repair            boolean NOT NULL DEFAULT false,
      trigger           text NOT NULL DEFAULT 'api',
      summary           jsonb NOT NULL DEFAULT '{}'::jsonb,
      findings          jsonb NOT NULL DEFAULT '[]'::jsonb,
      error             text,
      started_at        timestamptz NOT NULL DEFAULT now(),
      finished_at       timestamptz
    );
    CREATE INDEX reconcile_runs_org_idx ON reconcile_runs (organization_id, id DESC);
  `);
}

export async function down({ context: sql }: MigrationParams): Promise<void> {
  await sql(`
    DROP TABLE IF EXISTS reconcile_runs, scim_request_log, audit_log, webhook_attempts, webhook_deliveries,
      events, webhook_endpoints, attribute_mappings, pending_memberships, team_memberships, teams, users,
      scim_tokens, enterprise_connections, organizations CASCADE;
  `);
}
