import type { Sequelize, Transaction } from "sequelize";
import { select } from "../server/models/sql.ts";
import { MAPPED_COLUMNS } from "../server/domain/userColumns.ts";
import type { DuplicateEmail, MembershipSnapshot, PendingSnapshot, TeamSnapshot, UserSnapshot } from "./types.ts";

/*
 * The reads of a reconcile run. Everything that can grow is read in keyset-paginated batches
 * (`after` is the last key of the previous batch), so memory stays flat as an organization grows.
 */

type Tx = Transaction | null;

// The mapped columns come from their owner, so a new mapped field is scanned without a change here.
const USER_COLUMNS = `id, enterprise_connection_id, ${MAPPED_COLUMNS.join(", ")}, scim_resource, active, deleted_at`;

/** The next batch of the organization's users (soft-deleted ones too), by id. */
export function userBatch(sequelize: Sequelize, tx: Tx, organizationId: string, after: string, limit: number): Promise<UserSnapshot[]> {
  return select<UserSnapshot>(
    sequelize,
    `SELECT ${USER_COLUMNS} FROM users WHERE organization_id = $1 AND id > $2 ORDER BY id LIMIT $3`,
    [organizationId, after, limit],
    tx,
  );
}

/** Given users of the organization, locked for a fix (in id order, so two fixes never deadlock). */
export function lockUsers(sequelize: Sequelize, tx: Transaction, organizationId: string, userIds: string[]): Promise<UserSnapshot[]> {
  return select<UserSnapshot>(
    sequelize,
    `SELECT ${USER_COLUMNS} FROM users WHERE organization_id = $1 AND id = ANY($2::text[]) ORDER BY id FOR NO KEY UPDATE`,
    [organizationId, userIds],
    tx,
  );
}

/** Every membership of the given users, with its team (deleted teams included). */
export function membershipsOf(sequelize: Sequelize, tx: Tx, userIds: string[]): Promise<MembershipSnapshot[]> {
  if (userIds.length === 0) return Promise.resolve([]);
  return select<MembershipSnapshot>(
    sequelize,
    `SELECT m.team_id, m.user_id, m.status, m.source, m.confirmed_at, t.display_name AS team_name,
            t.deleted_at AS team_deleted_at, t.members_synced_at AS team_members_synced_at
       FROM team_memberships m JOIN teams t ON t.id = m.team_id
      WHERE m.user_id = ANY($1::text[])
      ORDER BY m.user_id, t.display_name, t.id`,
    [userIds],
    tx,
  );
}

/** Live teams named by the given strings (ids, or names case-insensitively): id and lower-cased name → id. */
export async function teamKeys(sequelize: Sequelize, tx: Tx, organizationId: string, keys: string[]): Promise<Map<string, string>> {
  const map = new Map<string, string>();
  if (keys.length === 0) return map;
  const unique = [...new Set(keys)];
  const rows = await select<{ id: string; display_name: string }>(
    sequelize,
    `SELECT id, display_name FROM teams WHERE organization_id = $1 AND deleted_at IS NULL
        AND (id = ANY($2::text[]) OR lower(display_name) = ANY($3::text[]))`,
    [organizationId, unique, unique.map((k) => k.toLowerCase())],
    tx,
  );
  for (const row of rows) {
    map.set(row.id, row.id);
    map.set(row.display_name.toLowerCase(), row.id);
  }
  return map;
}

/** The next batch of pending memberships, each with the live user its value names today (by id, then externalId). */
export function pendingBatch(sequelize: Sequelize, tx: Tx, organizationId: string, after: string, limit: number): Promise<PendingSnapshot[]> {
  return select<PendingSnapshot>(
    sequelize,
    `SELECT p.id, p.team_id, p.member_value, p.expires_at,
            coalesce(
              (SELECT u.id FROM users u WHERE u.id = p.member_value AND u.organization_id = p.organization_id AND u.deleted_at IS NULL),
              (SELECT u.id FROM users u WHERE u.organization_id = p.organization_id AND u.external_id = p.member_value
                  AND u.deleted_at IS NULL ORDER BY u.id LIMIT 1)
            ) AS known_user_id
       FROM pending_memberships p
      WHERE p.organization_id = $1 AND p.id > $2
      ORDER BY p.id LIMIT $3`,
    [organizationId, after, limit],
    tx,
  );
}

/** The next batch of live teams, each with its number of active members. */
export function teamBatch(sequelize: Sequelize, tx: Tx, organizationId: string, after: string, limit: number): Promise<TeamSnapshot[]> {
  return select<TeamSnapshot>(
    sequelize,
    `SELECT t.id, t.display_name, t.idp_touched_at,
            (SELECT count(*)::int FROM team_memberships m WHERE m.team_id = t.id AND m.status = 'active') AS active_members
       FROM teams t
      WHERE t.organization_id = $1 AND t.deleted_at IS NULL AND t.id > $2
      ORDER BY t.id LIMIT $3`,
    [organizationId, after, limit],
    tx,
  );
}

/** The next batch of email addresses (lower-cased) shared by several active users, by email. */
export function duplicateEmailBatch(sequelize: Sequelize, tx: Tx, organizationId: string, after: string, limit: number): Promise<DuplicateEmail[]> {
  return select<DuplicateEmail>(
    sequelize,
    `SELECT lower(email_address) AS email, array_agg(id ORDER BY id) AS user_ids
       FROM users
      WHERE organization_id = $1 AND deleted_at IS NULL AND active AND email_address IS NOT NULL
        AND lower(email_address) > $2
      GROUP BY lower(email_address)
     HAVING count(*) > 1
      ORDER BY lower(email_address) LIMIT $3`,
    [organizationId, after, limit],
    tx,
  );
}
