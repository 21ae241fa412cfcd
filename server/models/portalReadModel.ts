import type { Sequelize } from "sequelize";
import type { TeamRow, UserRow } from "./rows.ts";
import type { ScimTokenRow } from "./index.ts";
import { select } from "./sql.ts";

/**
 * Reads the admin portal needs beyond what the admin API already offers: searches, the filtered
 * request log, connection health, mapping progress. Every query is scoped by organization.
 */

/** A SCIM token without its hash, for the portal's token list. */
export type PortalTokenRow = Omit<ScimTokenRow, "token_hash">;

/** The organization's SCIM tokens, newest first (revoked ones included, so the list explains 401s). */
export function listScimTokens(sequelize: Sequelize, organizationId: string): Promise<PortalTokenRow[]> {
  return select<PortalTokenRow>(
    sequelize,
    `SELECT id, organization_id, enterprise_connection_id, name, prefix, last_used_at, revoked_at, created_at
       FROM scim_tokens WHERE organization_id = $1 ORDER BY id DESC LIMIT 200`,
    [organizationId],
  );
}

/** One row of the SCIM request log. */
export type RequestLogRow = {
  id: string; token_id: string | null; request_id: string; method: string; path: string; status: number;
  duration_ms: number; outcome: string; error: string | null; created_at: Date;
};

/** Which requests a log page shows. */
export type RequestLogFilter = {
  /** Inclusive status range, e.g. [400, 599] for every error. */
  statusRange?: [number, number] | undefined;
  /** A case-insensitive regular expression the path must match (resource filter). */
  pathPattern?: string | undefined;
  /** Only rows newer than this id (live updates). */
  newerThan?: string | undefined;
  limit: number;
};

/** The organization's SCIM request log, newest first. */
export function requestLogPage(sequelize: Sequelize, organizationId: string, filter: RequestLogFilter): Promise<RequestLogRow[]> {
  return select<RequestLogRow>(
    sequelize,
    `SELECT id, token_id, request_id, method, path, status, duration_ms, outcome, error, created_at
       FROM scim_request_log
      WHERE organization_id = $1
        AND ($2::int IS NULL OR status BETWEEN $2 AND $3)
        AND ($4::text IS NULL OR path ~* $4)
        AND ($5::text IS NULL OR id > $5)
      ORDER BY id DESC LIMIT $6`,
    [organizationId, filter.statusRange?.[0] ?? null, filter.statusRange?.[1] ?? null, filter.pathPattern ?? null, filter.newerThan ?? null, filter.limit],
  );
}

/** A path pattern for read-only probes: what an IdP's "test connection" and its lookups send. */
const PROBE_PATTERN = String.raw`^/scim/v2/(ServiceProviderConfig|ResourceTypes|Schemas|(Users|Groups)\?)`;

/** What the connection-health view shows. */
export type ConnectionHealth = {
  lastRequest: RequestLogRow | undefined;
  lastSuccess: RequestLogRow | undefined;
  lastError: RequestLogRow | undefined;
  lastProbe: RequestLogRow | undefined;
  lastHour: { total: number; errors: number };
  lastDay: { total: number; errors: number };
};

async function newestWhere(sequelize: Sequelize, organizationId: string, condition: string, bind: unknown[] = []): Promise<RequestLogRow | undefined> {
  const rows = await select<RequestLogRow>(
    sequelize,
    `SELECT id, token_id, request_id, method, path, status, duration_ms, outcome, error, created_at
       FROM scim_request_log WHERE organization_id = $1 AND ${condition} ORDER BY id DESC LIMIT 1`,
    [organizationId, ...bind],
  );
  return rows[0];
}

async function countsSince(sequelize: Sequelize, organizationId: string, since: Date): Promise<{ total: number; errors: number }> {
  const rows = await select<{ total: number; errors: number }>(
    sequelize,
    `SELECT count(*)::int AS total, count(*) FILTER (WHERE status >= 400)::int AS errors
       FROM scim_request_log WHERE organization_id = $1 AND created_at > $2`,
    [organizationId, since],
  );
  return rows[0] ?? { total: 0, errors: 0 };
}

/** The last requests seen from the IdP and its error rate over the last hour and day. */
export async function connectionHealth(sequelize: Sequelize, organizationId: string, now: Date): Promise<ConnectionHealth> {
  const [lastRequest, lastSuccess, lastError, lastProbe, lastHour, lastDay] = await Promise.all([
    newestWhere(sequelize, organizationId, "true"),
    newestWhere(sequelize, organizationId, "status < 400"),
    newestWhere(sequelize, organizationId, "status >= 400"),
    newestWhere(sequelize, organizationId, "method = 'GET' AND path ~* $2", [PROBE_PATTERN]),
    countsSince(sequelize, organizationId, new Date(now.getTime() - 3_600_000)),
    countsSince(sequelize, organizationId, new Date(now.getTime() - 86_400_000)),
  ]);
  return { lastRequest, lastSuccess, lastError, lastProbe, lastHour, lastDay };
}

/** `%term%` for ILIKE, with the user's own % and _ taken literally. */
function containsPattern(term: string): string {
  return `%${term.replace(/[\\%_]/g, (c) => `\\${c}`)}%`;
}

/** Live users whose name, email, userName, externalId or id matches the search (all when empty). */
export function searchUsers(sequelize: Sequelize, organizationId: string, query: string, limit: number): Promise<UserRow[]> {
  const term = query.trim();
  return select<UserRow>(
    sequelize,
    `SELECT * FROM users
      WHERE organization_id = $1 AND deleted_at IS NULL
        AND ($2::text = '' OR id = $2 OR user_name ILIKE $3 OR email_address ILIKE $3 OR external_id ILIKE $3
             OR (coalesce(first_name, '') || ' ' || coalesce(last_name, '')) ILIKE $3)
      ORDER BY lower(user_name), id LIMIT $4`,
    [organizationId, term, containsPattern(term), limit],
  );
}

/** Live teams whose name or externalId matches the search, with their member counts. */
export function searchTeams(sequelize: Sequelize, organizationId: string, query: string, limit: number): Promise<Array<TeamRow & { member_count: number }>> {
  const term = query.trim();
  return select<TeamRow & { member_count: number }>(
    sequelize,
    `SELECT t.*, (SELECT count(*)::int FROM team_memberships m WHERE m.team_id = t.id) AS member_count
       FROM teams t
      WHERE t.organization_id = $1 AND t.deleted_at IS NULL
        AND ($2::text = '' OR t.id = $2 OR t.display_name ILIKE $3 OR t.external_id ILIKE $3)
      ORDER BY lower(t.display_name), t.id LIMIT $4`,
    [organizationId, term, containsPattern(term), limit],
  );
}

/** One live user of the organization, or undefined (also for another organization's id). */
export async function findOrgUser(sequelize: Sequelize, organizationId: string, userId: string): Promise<UserRow | undefined> {
  const rows = await select<UserRow>(sequelize, `SELECT * FROM users WHERE organization_id = $1 AND id = $2 AND deleted_at IS NULL`, [organizationId, userId]);
  return rows[0];
}

/** How many live users there are, how many are active, and how many were mapped with the given version. */
export async function mappingProgress(
  sequelize: Sequelize,
  organizationId: string,
  version: number | null,
): Promise<{ total: number; active: number; onVersion: number }> {
  const rows = await select<{ total: number; active: number; on_version: number }>(
    sequelize,
    `SELECT count(*)::int AS total, count(*) FILTER (WHERE active)::int AS active,
            count(*) FILTER (WHERE mapping_version IS NOT DISTINCT FROM $2::int)::int AS on_version
       FROM users WHERE organization_id = $1 AND deleted_at IS NULL`,
    [organizationId, version],
  );
  const row = rows[0] ?? { total: 0, active: 0, on_version: 0 };
  return { total: row.total, active: row.active, onVersion: row.on_version };
}
