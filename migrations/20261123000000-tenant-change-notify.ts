import type { MigrationParams } from "../server/db/migrator.ts";

/**
 * Every change to what a SCIM token resolves to (the token itself, its organization's rate limit,
 * the organization's mapping version) announces the organization on the `rollcall_tenant_changed`
 * channel. Processes cache token lookups and drop an organization's entries when they hear it.
 * A trigger, not application code, sends it, so a change made by any process or by hand in psql is
 * announced too. NOTIFY is delivered only when the changing transaction commits.
 */
export async function up({ context: sql }: MigrationParams): Promise<void> {
  await sql(`
    CREATE FUNCTION rollcall_notify_tenant_changed() RETURNS trigger LANGUAGE plpgsql AS $$
    DECLARE
      org text;
    BEGIN
      IF TG_TABLE_NAME = 'organizations' THEN
        org := coalesce(NEW.id, OLD.id);
      ELSE
        org := coalesce(NEW.organization_id, OLD.organization_id);
      END IF;
      PERFORM pg_notify('rollcall_tenant_changed', org);
      RETURN NULL;
    END
    $$;

    -- Not on last_used_at, which the lookup itself refreshes.
    CREATE TRIGGER scim_tokens_tenant_changed
      AFTER UPDATE OF revoked_at, token_hash, organization_id, enterprise_connection_id OR DELETE ON scim_tokens
      FOR EACH ROW EXECUTE FUNCTION rollcall_notify_tenant_changed();
    CREATE TRIGGER organizations_tenant_changed AFTER UPDATE OR DELETE ON organizations
      FOR EACH ROW EXECUTE FUNCTION rollcall_notify_tenant_changed();
    CREATE TRIGGER attribute_mappings_tenant_changed AFTER INSERT OR UPDATE OR DELETE ON attribute_mappings
      FOR EACH ROW EXECUTE FUNCTION rollcall_notify_tenant_changed();
  `);
}

export async function down({ context: sql }: MigrationParams): Promise<void> {
  await sql(`
    DROP TRIGGER IF EXISTS attribute_mappings_tenant_changed ON attribute_mappings;
    DROP TRIGGER IF EXISTS organizations_tenant_changed ON organizations;
    DROP TRIGGER IF EXISTS scim_tokens_tenant_changed ON scim_tokens;
    DROP FUNCTION IF EXISTS rollcall_notify_tenant_changed();
  `);
}
