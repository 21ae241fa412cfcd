import type { Sequelize, Transaction } from "sequelize";
import type { MembershipRow, UserRow } from "./rows.ts";
import { USER_MEMBERSHIPS_COLUMN } from "./membershipQueries.ts";
import { execute, select } from "./sql.ts";

/** A live (not soft-deleted) user of the organization, optionally locked for update. */
export async function findUser(
  sequelize: Sequelize,
  organizationId: string,
  id: string,
  transaction?: Transaction,
  lock = false,
): Promise<UserRow | undefined> {
  const rows = await select<UserRow>(
    sequelize,
    `SELECT * FROM users WHERE organization_id = $1 AND id = $2 AND deleted_at IS NULL${lock ? " FOR UPDATE" : ""}`,
    [organizationId, id],
    transaction,
  );
  return rows[0];
}

/** A live user with its memberships, read in one query (GET /Users/:id). */
export async function findUserWithMemberships(
  sequelize: Sequelize,
  organizationId: string,
  id: string,
): Promise<(UserRow & { memberships: MembershipRow[] }) | undefined> {
  const rows = await select<UserRow & { memberships: MembershipRow[] }>(
    sequelize,
    `SELECT u.*${USER_MEMBERSHIPS_COLUMN} FROM users u WHERE u.organization_id = $1 AND u.id = $2 AND u.deleted_at IS NULL`,
    [organizationId, id],
  );
  return rows[0];
}

/** Live users that hold a userName (org-wide, case-insensitive) or an externalId (per connection). */
export async function findUsersByIdentity(
  sequelize: Sequelize,
  transaction: Transaction,
  key: { organizationId: string; connectionId: string; userName: string; externalId: string | null },
): Promise<UserRow[]> {
  return select<UserRow>(
    sequelize,
    `SELECT * FROM users
      WHERE organization_id = $1 AND deleted_at IS NULL
        AND (lower(user_name) = lower($2) OR (enterprise_connection_id = $3 AND external_id = $4))
      FOR UPDATE`,
    [key.organizationId, key.userName, key.connectionId, key.externalId],
    transaction,
  );
}

/** The columns a write sets; everything else is managed by the database or the lifecycle. */
export type UserWrite = Pick<
  UserRow,
  | "external_id"
  | "user_name"
  | "app_external_id"
  | "email_address"
  | "first_name"
  | "last_name"
  | "active"
  | "organization_role"
  | "public_metadata"
  | "private_metadata"
  | "scim_resource"
  | "mapping_version"
  | "mapping_errors"
>;

/** Inserts a new user row. */
export async function insertUser(
  sequelize: Sequelize,
  transaction: Transaction,
  ids: { id: string; organizationId: string; connectionId: string },
  values: UserWrite,
  now: Date,
): Promise<UserRow> {
  const rows = await execute<UserRow>(
    sequelize,
    `INSERT INTO users (id, organization_id, enterprise_connection_id, external_id, user_name, app_external_id, email_address,
       first_name, last_name, active, organization_role, public_metadata, private_metadata, scim_resource, mapping_version,
       mapping_errors, version, created_at, updated_at)
     VALUES ($1,$2,$3,$4,$5,$6,$7,$8,$9,$10,$11,$12,$13,$14,$15,$16,1,$17,$17)
     RETURNING *`,
    [
      ids.id, ids.organizationId, ids.connectionId, values.external_id, values.user_name, values.app_external_id,
      values.email_address, values.first_name, values.last_name, values.active, values.organization_role,
      JSON.stringify(values.public_metadata), JSON.stringify(values.private_metadata), JSON.stringify(values.scim_resource),
      values.mapping_version, JSON.stringify(values.mapping_errors), now,
    ],
    transaction,
  );
  return rows[0]!;
}

/** Overwrites a user's writable columns and bumps its version (the ETag). */
export async function updateUser(sequelize: Sequelize, transaction: Transaction, id: string, values: UserWrite, now: Date): Promise<UserRow> {
  const rows = await execute<UserRow>(
    sequelize,
    `UPDATE users SET external_id = $2, user_name = $3, app_external_id = $4, email_address = $5, first_name = $6,
       last_name = $7, active = $8, organization_role = $9, public_metadata = $10, private_metadata = $11,
       scim_resource = $12, mapping_version = $13, mapping_errors = $14, version = version + 1, updated_at = $15
     WHERE id = $1 RETURNING *`,
    [
      id, values.external_id, values.user_name, values.app_external_id, values.email_address, values.first_name,
      values.last_name, values.active, values.organization_role, JSON.stringify(values.public_metadata),
      JSON.stringify(values.private_metadata), JSON.stringify(values.scim_resource), values.mapping_version,
      JSON.stringify(values.mapping_errors), now,
    ],
    transaction,
  );
  return rows[0]!;
}

/** Soft-deletes a user: hidden from SCIM, kept for audit, its userName and externalId freed. */
export async function softDeleteUser(sequelize: Sequelize, transaction: Transaction, id: string, now: Date): Promise<UserRow> {
  const rows = await execute<UserRow>(
    sequelize,
    `UPDATE users SET deleted_at = $2, active = false, version = version + 1, updated_at = $2 WHERE id = $1 RETURNING *`,
    [id, now],
    transaction,
  );
  return rows[0]!;
}
