import type { Sequelize, Transaction } from "sequelize";
import type { MembershipRow, UserRow } from "./rows.ts";
import { USER_MEMBERSHIPS_COLUMN } from "./membershipQueries.ts";
import { execute, select } from "./sql.ts";
import { BindList } from "../db/bindList.ts";
import type { Change } from "../changes/change.ts";
import { bindValueOf, MAPPED_COLUMNS, sqlTypeOf, USER_WRITE_COLUMNS, type MappedColumns, type UserWrite } from "../domain/userColumns.ts";
import { changeCtes } from "./changeQueries.ts";
import { deliveriesCommitted } from "../webhooks/wakeUp.ts";

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

export type { UserWrite } from "../domain/userColumns.ts";

// Statement texts are built once from the column owner's lists, so each stays one prepared statement.
const WRITE_LIST = USER_WRITE_COLUMNS.join(", ");
const INSERT_USER = `INSERT INTO users (id, organization_id, enterprise_connection_id, ${WRITE_LIST}, version, created_at, updated_at)
     VALUES ($1, $2, $3, ${USER_WRITE_COLUMNS.map((_, i) => `$${i + 5}`).join(", ")}, 1, $4, $4)
     RETURNING *`;
const UPDATE_USER = `UPDATE users SET ${USER_WRITE_COLUMNS.map((c, i) => `${c} = $${i + 3}`).join(", ")}, version = version + 1, updated_at = $2
     WHERE id = $1 RETURNING *`;

const writeValues = (values: UserWrite) => USER_WRITE_COLUMNS.map((c) => bindValueOf(c, values[c]));

/** Inserts a new user row. */
export async function insertUser(
  sequelize: Sequelize,
  transaction: Transaction,
  ids: { id: string; organizationId: string; connectionId: string },
  values: UserWrite,
  now: Date,
): Promise<UserRow> {
  const rows = await execute<UserRow>(sequelize, INSERT_USER, [ids.id, ids.organizationId, ids.connectionId, now, ...writeValues(values)], transaction);
  return rows[0]!;
}

/** Overwrites a user's writable columns and bumps its version (the ETag). */
export async function updateUser(sequelize: Sequelize, transaction: Transaction, id: string, values: UserWrite, now: Date): Promise<UserRow> {
  const rows = await execute<UserRow>(sequelize, UPDATE_USER, [id, now, ...writeValues(values)], transaction);
  return rows[0]!;
}

/** `col = $n, …` for the mapped columns, bound in `bind`. */
function setMappedColumns(values: MappedColumns, bind: BindList): string {
  return MAPPED_COLUMNS.map((c) => `${c} = ${bind.add(bindValueOf(c, values[c]))}::${sqlTypeOf(c)}`).join(", ");
}

/**
 * Rewrites a user's mapped columns (after its teams or the mapping changed), optionally moving its
 * version, and records `change` in the same statement (one round trip per re-mapped user).
 */
export async function updateMappedColumns(
  sequelize: Sequelize,
  transaction: Transaction,
  props: { id: string; values: MappedColumns; now: Date; bumpVersion: boolean; change?: Change },
): Promise<UserRow> {
  const bind = new BindList();
  const update = `remapped AS (
    UPDATE users SET ${setMappedColumns(props.values, bind)}, updated_at = ${bind.add(props.now)}::timestamptz,
      version = version + CASE WHEN ${bind.add(props.bumpVersion)}::boolean THEN 1 ELSE 0 END
    WHERE id = ${bind.add(props.id)} RETURNING *
  )`;
  const recorded = props.change ? changeCtes(props.change, props.now, bind) : { sql: "" };
  const rows = await execute<UserRow>(sequelize, `WITH ${update}${recorded.sql ? `, ${recorded.sql}` : ""} SELECT * FROM remapped`, bind.values, transaction);
  if (props.change?.event) deliveriesCommitted(sequelize, transaction);
  return rows[0]!;
}

/**
 * Inserts a user and records its change in one autocommitted statement, unless the userName or
 * externalId is already held (ON CONFLICT DO NOTHING on the unique indexes, which waits for a
 * concurrent writer of the same value) or a pending membership names the externalId (it must be
 * claimed with the user). Then nothing is written and undefined is returned.
 */
export async function insertUserUnlessHeld(
  sequelize: Sequelize,
  props: { id: string; organizationId: string; connectionId: string; values: UserWrite; now: Date; change: Change },
): Promise<UserRow | undefined> {
  const { values } = props;
  const bind = new BindList();
  const org = bind.add(props.organizationId);
  const externalId = bind.add(values.external_id);
  const at = bind.add(props.now);
  const columns = USER_WRITE_COLUMNS.map((c) => (c === "external_id" ? `${externalId}::text` : `${bind.add(bindValueOf(c, values[c]))}::${sqlTypeOf(c)}`));
  const insert = `
  blocked AS (
    SELECT 1 FROM pending_memberships WHERE organization_id = ${org} AND member_value = ${externalId}::text LIMIT 1
  ), inserted AS (
    INSERT INTO users (id, organization_id, enterprise_connection_id, ${WRITE_LIST}, version, created_at, updated_at)
    SELECT ${bind.add(props.id)}, ${org}, ${bind.add(props.connectionId)}, ${columns.join(", ")}, 1, ${at}::timestamptz, ${at}::timestamptz
     WHERE NOT EXISTS (SELECT 1 FROM blocked)
    ON CONFLICT DO NOTHING
    RETURNING *
  )`;
  const recorded = changeCtes(props.change, props.now, bind, "inserted");
  const rows = await execute<UserRow>(sequelize, `WITH ${insert}, ${recorded.sql} SELECT * FROM inserted`, bind.values);
  // Autocommitted: the deliveries (if the user was inserted) are committed now.
  if (rows[0] && props.change.event) deliveriesCommitted(sequelize);
  return rows[0];
}

/**
 * Moves the version of live users whose SCIM `groups` changed, returning each with its memberships
 * as this transaction now sees them (one round trip).
 */
export function bumpUserVersions(
  sequelize: Sequelize,
  transaction: Transaction,
  organizationId: string,
  userIds: string[],
  now: Date,
): Promise<Array<UserRow & { memberships: MembershipRow[] }>> {
  return select<UserRow & { memberships: MembershipRow[] }>(
    sequelize,
    `UPDATE users u SET version = u.version + 1, updated_at = $3
      WHERE u.organization_id = $1 AND u.id = ANY($2::text[]) AND u.deleted_at IS NULL
      RETURNING u.*${USER_MEMBERSHIPS_COLUMN}`,
    [organizationId, userIds, now],
    transaction,
  );
}

/** Stamps a mapping version on users whose mapped columns already match it (nothing a consumer sees changes). */
export async function stampMappingVersion(sequelize: Sequelize, transaction: Transaction, userIds: string[], version: number | null): Promise<void> {
  await execute(sequelize, `UPDATE users SET mapping_version = $2 WHERE id = ANY($1::text[])`, [userIds, version], transaction);
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
