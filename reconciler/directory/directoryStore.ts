import type { Sequelize, Transaction } from "sequelize";
import { newId } from "../../server/ids.ts";
import { keyRingOf } from "../../server/crypto/secretBox.ts";
import { execute, select } from "../../server/models/sql.ts";
import type { DirectoryConfig, DirectoryProvider } from "./settings.ts";

/** A directory_connections row (migrations/20261207030000-create-directory-connections.ts); credentials still sealed. */
export type DirectoryRow = {
  id: string;
  organization_id: string;
  enterprise_connection_id: string;
  provider: DirectoryProvider;
  settings: Record<string, unknown>;
  public_credentials: Record<string, string>;
  credentials: string;
  max_deactivation_ratio: number;
  interval_minutes: number;
  full_every_hours: number;
  state: Record<string, unknown>;
  last_run_at: Date | null;
  last_full_run_at: Date | null;
  created_at: Date;
  updated_at: Date;
};

/** What PUT stores. */
export type DirectoryWrite = {
  organizationId: string;
  connectionId: string;
  provider: DirectoryProvider;
  settings: Record<string, unknown>;
  publicCredentials: Record<string, string>;
  credentials: Record<string, string>;
  maxDeactivationRatio?: number;
  intervalMinutes?: number;
  fullEveryHours?: number;
};

/** Creates or replaces the connection's directory; the credentials are sealed for the organization, cursors reset. */
export async function upsertDirectory(sequelize: Sequelize, write: DirectoryWrite, now: Date, tx?: Transaction): Promise<DirectoryRow> {
  const sealed = keyRingOf(sequelize).seal(JSON.stringify(write.credentials), write.organizationId);
  const [row] = await execute<DirectoryRow>(
    sequelize,
    `INSERT INTO directory_connections (id, organization_id, enterprise_connection_id, provider, settings, public_credentials, credentials,
       max_deactivation_ratio, interval_minutes, full_every_hours, state, created_at, updated_at)
     VALUES ($1, $2, $3, $4, $5, $6, $7, coalesce($8, 0.2), coalesce($9, 60), coalesce($10, 24), '{}'::jsonb, $11, $11)
     ON CONFLICT (enterprise_connection_id) DO UPDATE SET provider = EXCLUDED.provider, settings = EXCLUDED.settings,
       public_credentials = EXCLUDED.public_credentials, credentials = EXCLUDED.credentials,
       max_deactivation_ratio = EXCLUDED.max_deactivation_ratio, interval_minutes = EXCLUDED.interval_minutes,
       full_every_hours = EXCLUDED.full_every_hours, state = '{}'::jsonb, last_full_run_at = NULL, updated_at = EXCLUDED.updated_at
     WHERE directory_connections.organization_id = EXCLUDED.organization_id
     RETURNING *`,
    [newId("dir"), write.organizationId, write.connectionId, write.provider, JSON.stringify(write.settings), JSON.stringify(write.publicCredentials),
      sealed, write.maxDeactivationRatio ?? null, write.intervalMinutes ?? null, write.fullEveryHours ?? null, now],
    tx,
  );
  return row!;
}

/** The directory of one connection of the organization, if configured. */
export async function findDirectory(sequelize: Sequelize, organizationId: string, connectionId: string, tx?: Transaction | null): Promise<DirectoryRow | undefined> {
  const rows = await select<DirectoryRow>(
    sequelize,
    `SELECT * FROM directory_connections WHERE organization_id = $1 AND enterprise_connection_id = $2`,
    [organizationId, connectionId],
    tx,
  );
  return rows[0];
}

/** Every directory of the organization (a handful: one per connection at most). */
export function directoriesOf(sequelize: Sequelize, organizationId: string, tx?: Transaction | null): Promise<DirectoryRow[]> {
  return select<DirectoryRow>(sequelize, `SELECT * FROM directory_connections WHERE organization_id = $1 ORDER BY id`, [organizationId], tx);
}

/** Removes the connection's directory; returns the removed row. */
export async function deleteDirectory(sequelize: Sequelize, organizationId: string, connectionId: string): Promise<DirectoryRow | undefined> {
  const rows = await execute<DirectoryRow>(
    sequelize,
    `DELETE FROM directory_connections WHERE organization_id = $1 AND enterprise_connection_id = $2 RETURNING *`,
    [organizationId, connectionId],
  );
  return rows[0];
}

/** Opens the row's credentials: the connector's configuration. Stays inside the process. */
export function directoryConfigOf(sequelize: Sequelize, row: DirectoryRow): DirectoryConfig {
  const credentials = JSON.parse(keyRingOf(sequelize).open(row.credentials, row.organization_id)) as Record<string, string>;
  return { provider: row.provider, settings: row.settings, credentials } as DirectoryConfig;
}

/**
 * The change feed's cursor of the last pull, or null (no feed yet, or one that can no longer be
 * opened after a key rotation: the next pass is a full one and starts a new feed). A Graph delta
 * link carries a state token that reads the tenant's changes, so cursors are sealed like
 * credentials; a plaintext `cursor` (an Okta timestamp stored before that) is still read.
 */
export function cursorOf(sequelize: Sequelize, row: DirectoryRow): string | null {
  const sealed = row.state.sealed_cursor;
  if (typeof sealed === "string") {
    try {
      return keyRingOf(sequelize).open(sealed, row.organization_id);
    } catch {
      return null;
    }
  }
  return typeof row.state.cursor === "string" ? row.state.cursor : null;
}

/** Records a finished directory pull: when, whether it was a full pass, and the (sealed) cursor for the next incremental one. */
export async function recordDirectoryPull(
  sequelize: Sequelize,
  row: Pick<DirectoryRow, "id" | "organization_id">,
  pull: { at: Date; full: boolean; cursor: string | null },
  tx?: Transaction,
): Promise<void> {
  const state = pull.cursor === null ? {} : { sealed_cursor: keyRingOf(sequelize).seal(pull.cursor, row.organization_id) };
  await execute(
    sequelize,
    `UPDATE directory_connections SET last_run_at = $2, last_full_run_at = CASE WHEN $3 THEN $2 ELSE last_full_run_at END, state = $4 WHERE id = $1`,
    [row.id, pull.at, pull.full, JSON.stringify(state)],
    tx,
  );
}

/** The organization's directories whose cadence (interval_minutes since the last pull) says a pull is due at `now`. */
export async function dueDirectoryIds(sequelize: Sequelize, organizationId: string, now: Date): Promise<string[]> {
  const rows = await select<{ id: string }>(
    sequelize,
    `SELECT id FROM directory_connections
      WHERE organization_id = $1 AND (last_run_at IS NULL OR last_run_at + make_interval(mins => interval_minutes) <= $2)
      ORDER BY id`,
    [organizationId, now],
  );
  return rows.map((r) => r.id);
}
