import type { MigrationParams } from "../server/db/migrator.ts";

/**
 * userName is written in Unicode NFC from now on (server/scim/userInput.ts) and filter values are
 * compared in NFC, so stored names are brought into NFC too. A stored name whose NFC form another
 * live user of the organization already holds (the "two josés" this fixes) is left as it is: merging
 * users is a decision for the organization, and the unique index must keep holding.
 */
export async function up({ context: sql }: MigrationParams): Promise<void> {
  await sql(`
    UPDATE users u
       SET user_name = normalize(u.user_name, NFC),
           scim_resource = CASE WHEN u.scim_resource->'userName' IS NULL THEN u.scim_resource
                                ELSE jsonb_set(u.scim_resource, '{userName}', to_jsonb(normalize(u.user_name, NFC))) END
     WHERE u.user_name IS NOT NFC NORMALIZED
       AND NOT EXISTS (
         SELECT 1 FROM users other
          WHERE other.organization_id = u.organization_id AND other.id <> u.id AND other.deleted_at IS NULL
            AND lower(other.user_name) = lower(normalize(u.user_name, NFC)))
  `);
}

/** Nothing to undo: the NFC form is the same name. */
export async function down(): Promise<void> {}
