import type { Sequelize } from "sequelize";
import { newId } from "../ids.ts";
import { execute, select } from "./sql.ts";

/** A portal_sessions row as the portal needs it (hashes stay in the database). */
export type PortalSessionRow = {
  id: string;
  organization_id: string;
  link_expires_at: Date;
  exchanged_at: Date | null;
  expires_at: Date | null;
  ended_at: Date | null;
  created_at: Date;
};

const COLUMNS = `id, organization_id, link_expires_at, exchanged_at, expires_at, ended_at, created_at`;

/** Stores a new one-time link code (as its hash) for an organization. */
export async function insertPortalLink(
  sequelize: Sequelize,
  props: { organizationId: string; codeHash: Buffer; linkExpiresAt: Date },
  now: Date,
): Promise<PortalSessionRow> {
  const [row] = await execute<PortalSessionRow>(
    sequelize,
    `INSERT INTO portal_sessions (id, organization_id, code_hash, link_expires_at, created_at)
     VALUES ($1, $2, $3, $4, $5) RETURNING ${COLUMNS}`,
    [newId("ps"), props.organizationId, props.codeHash, props.linkExpiresAt, now],
  );
  return row!;
}

/**
 * Turns an unused, unexpired link code into a session in one statement, so two tabs opening the
 * same link race on the row and only one wins. Undefined when the code is unknown, used or expired.
 */
export async function exchangePortalCode(
  sequelize: Sequelize,
  props: { codeHash: Buffer; sessionHash: Buffer; sessionExpiresAt: Date },
  now: Date,
): Promise<PortalSessionRow | undefined> {
  const rows = await execute<PortalSessionRow>(
    sequelize,
    `UPDATE portal_sessions SET exchanged_at = $3, session_hash = $2, expires_at = $4
      WHERE code_hash = $1 AND exchanged_at IS NULL AND link_expires_at > $3
      RETURNING ${COLUMNS}`,
    [props.codeHash, props.sessionHash, now, props.sessionExpiresAt],
  );
  return rows[0];
}

/** The live session a cookie hash names, with its organization's name; undefined when unknown, ended or expired. */
export async function findLivePortalSession(
  sequelize: Sequelize,
  sessionHash: Buffer,
  now: Date,
): Promise<(PortalSessionRow & { organization_name: string }) | undefined> {
  const rows = await select<PortalSessionRow & { organization_name: string }>(
    sequelize,
    `SELECT s.id, s.organization_id, s.link_expires_at, s.exchanged_at, s.expires_at, s.ended_at, s.created_at, o.name AS organization_name
       FROM portal_sessions s JOIN organizations o ON o.id = s.organization_id
      WHERE s.session_hash = $1 AND s.ended_at IS NULL AND s.expires_at > $2`,
    [sessionHash, now],
  );
  return rows[0];
}

/** Ends a session (sign out); later requests with its cookie are refused. */
export async function endPortalSession(sequelize: Sequelize, sessionId: string, now: Date): Promise<void> {
  await execute(sequelize, `UPDATE portal_sessions SET ended_at = $2 WHERE id = $1 AND ended_at IS NULL`, [sessionId, now]);
}
