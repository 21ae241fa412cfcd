import type { Sequelize } from "sequelize";
import { normalizeUserNameFilter } from "../scim/userNameForm.ts";
import { compileFilterToSql, parseFilter, sortSqlFor, type FilterNode } from "../scim/filter/index.ts";
import type { ListQuery } from "../scim/listQuery.ts";
import type { MembershipRow, TeamRow, UserRow } from "./rows.ts";
import { select } from "./sql.ts";
import { USER_MEMBERSHIPS_COLUMN } from "./membershipQueries.ts";
import type { UserKey, UserKeyLookups } from "./userKeyLookups.ts";

type Searchable = { table: "users" | "teams"; alias: "u" | "t"; resourceType: "User" | "Group" };

const USERS: Searchable = { table: "users", alias: "u", resourceType: "User" };
const TEAMS: Searchable = { table: "teams", alias: "t", resourceType: "Group" };

/** The list query's filter, parsed once for whoever needs it (the key-lookup check, the SQL compiler). */
function parsedFilter(query: ListQuery, target: Searchable): FilterNode | undefined {
  return query.filter === undefined ? undefined : parseFilter(query.filter, { resourceType: target.resourceType });
}

/**
 * Runs a SCIM list query in SQL: the filter is compiled to a parameterised WHERE clause (never
 * evaluated in memory), the page is taken with a stable order, and the total is counted.
 */
async function search<Row extends object>(
  sequelize: Sequelize,
  target: Searchable,
  organizationId: string,
  query: ListQuery,
  filter: FilterNode | undefined,
  extraColumns = "",
): Promise<{ rows: Row[]; total: number }> {
  const { alias, table } = target;
  const params: unknown[] = [organizationId];
  let where = `${alias}.organization_id = $1 AND ${alias}.deleted_at IS NULL`;
  if (filter !== undefined) {
    const compiled = compileFilterToSql(filter, target.resourceType, { bindOffset: params.length });
    where += ` AND (${compiled.sql})`;
    params.push(...compiled.params);
  }
  const countAll = async () =>
    (await select<{ total: number }>(sequelize, `SELECT count(*)::int AS total FROM ${table} ${alias} WHERE ${where}`, params))[0]!.total;
  if (query.count === 0) return { rows: [], total: await countAll() };
  const direction = query.descending ? "DESC" : "ASC";
  const order = query.sortBy
    ? `${sortSqlFor(query.sortBy, target.resourceType)} ${direction} NULLS LAST, ${alias}.created_at, ${alias}.id`
    : `${alias}.created_at ${direction}, ${alias}.id ${direction}`;
  const rows = await select<Row>(
    sequelize,
    `SELECT ${alias}.*${extraColumns} FROM ${table} ${alias} WHERE ${where} ORDER BY ${order} LIMIT $${params.length + 1} OFFSET $${params.length + 2}`,
    [...params, query.count, query.startIndex - 1],
  );
  // A first page that is not full holds every match, so it is its own total: the IdP lookups
  // (`userName eq …`) then cost one query instead of two.
  const total = query.startIndex === 1 && rows.length < query.count ? rows.length : await countAll();
  return { rows, total };
}

const CORE_USER_URN = "urn:ietf:params:scim:schemas:core:2.0:user:";

/**
 * The key of a plain first-page lookup (`userName eq "x"` or `externalId eq "x"`, no sort), which
 * UserKeyLookups can answer in a batch; undefined for anything else. A value holding U+0000 can
 * match nothing and is left to the general path, so a batch never carries a value the database refuses.
 */
function userKeyOf(organizationId: string, query: ListQuery, node: FilterNode | undefined): UserKey | undefined {
  if (node === undefined || query.sortBy !== undefined || query.startIndex !== 1 || query.count < 1) return undefined;
  if (!("compValue" in node) || node.op !== "eq" || typeof node.compValue !== "string" || node.compValue.includes("\u0000")) return undefined;
  const path = node.attrPath.toLowerCase();
  const attribute = path.startsWith(CORE_USER_URN) ? path.slice(CORE_USER_URN.length) : path;
  const field = attribute === "username" ? "userName" : attribute === "externalid" ? "externalId" : undefined;
  return field ? { organizationId, field, value: node.compValue } : undefined;
}

/** GET /Users with filter, sort and paging; plain key lookups go through the batcher when one is given. */
export async function searchUsers(
  sequelize: Sequelize,
  organizationId: string,
  query: ListQuery,
  withMemberships: boolean,
  keyLookups?: UserKeyLookups,
): Promise<{ rows: Array<UserRow & { memberships?: MembershipRow[] }>; total: number }> {
  const parsed = parsedFilter(query, USERS);
  const filter = parsed && normalizeUserNameFilter(parsed);
  const key = keyLookups ? userKeyOf(organizationId, query, filter) : undefined;
  if (key) {
    const rows = await keyLookups!.find(key, withMemberships);
    // More holders than fit the page (several users with one externalId): the general path pages them.
    if (rows.length < query.count) return { rows, total: rows.length };
  }
  return search<UserRow & { memberships?: MembershipRow[] }>(sequelize, USERS, organizationId, query, filter, withMemberships ? USER_MEMBERSHIPS_COLUMN : "");
}

/** GET /Groups with filter, sort and paging. */
export function searchTeams(sequelize: Sequelize, organizationId: string, query: ListQuery) {
  return search<TeamRow>(sequelize, TEAMS, organizationId, query, parsedFilter(query, TEAMS));
}
