import type { Sequelize } from "sequelize";
import { normalizeUserNameFilter } from "../scim/userNameForm.ts";
import { compileFilterToSql, parseFilter, sortSqlFor, type FilterNode } from "../scim/filter/index.ts";
import type { ListQuery } from "../scim/listQuery.ts";
import type { MembershipRow, TeamRow, UserRow } from "./rows.ts";
import { select } from "./sql.ts";
import { USER_MEMBERSHIPS_COLUMN } from "./membershipQueries.ts";
import type { UserKey, UserKeyLookups } from "./userKeyLookups.ts";
import { compositeKeysetTail } from "./keysetPage.ts";
import { restrictFilterTo } from "../scim/filter/restrict.ts";
import { resolveAttribute } from "../scim/schemas/resolve.ts";
import { ValidationError } from "../errors.ts";

/** Where a cursor walk stands: the sort key of the last row returned (ISO creation time with microseconds, id). */
export type RowKey = { createdAt: string; id: string };

type Searchable = { table: "users" | "teams"; alias: "u" | "t"; resourceType: "User" | "Group" };

const USERS: Searchable = { table: "users", alias: "u", resourceType: "User" };
const TEAMS: Searchable = { table: "teams", alias: "t", resourceType: "Group" };

/** The list query's filter, parsed once for whoever needs it (the key-lookup check, the SQL compiler). */
function parsedFilter(query: ListQuery, target: Searchable): FilterNode | undefined {
  return query.filter === undefined ? undefined : parseFilter(query.filter, { resourceType: target.resourceType });
}

/** The rows a list query matches: the organization's live rows, narrowed by the compiled filter. */
function matching(target: Searchable, organizationId: string, filter: FilterNode | undefined): { where: string; params: unknown[] } {
  const params: unknown[] = [organizationId];
  return { where: matchingWith(target, filter, params), params };
}

/** The WHERE clause of `matching`, with the organization id already bound as $1 and the filter's values appended to `params`. */
function matchingWith(target: Searchable, filter: FilterNode | undefined, params: unknown[]): string {
  const { alias } = target;
  let where = `${alias}.organization_id = $1 AND ${alias}.deleted_at IS NULL`;
  if (filter !== undefined) {
    const compiled = compileFilterToSql(filter, target.resourceType, { bindOffset: params.length });
    where += ` AND (${compiled.sql})`;
    params.push(...compiled.params);
  }
  return where;
}

async function countMatching(sequelize: Sequelize, target: Searchable, where: string, params: unknown[]): Promise<number> {
  const { alias, table } = target;
  return (await select<{ total: number }>(sequelize, `SELECT count(*)::int AS total FROM ${table} ${alias} WHERE ${where}`, params))[0]!.total;
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
  const { where, params } = matching(target, organizationId, filter);
  const countAll = () => countMatching(sequelize, target, where, params);
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

/**
 * One page of a cursor walk: its rows, the total of all matches, whether more rows follow, and the
 * key the next page starts after (the last row's, or the incoming one for an empty page; null: the start).
 */
export type CursorPage<Row> = { rows: Row[]; total: number; more: boolean; resumeAfter: RowKey | null };

/** The text form of a row's creation time in a cursor: UTC with microseconds, so no two instants collide. */
const KEY_CREATED_AT = (alias: string) => `to_char(${alias}.created_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"') AS cursor_created_at`;

/**
 * RFC 9865 cursor paging without OFFSET: the rows after the key (created_at, id) of the previous
 * page's last row, in the same order as index paging without sortBy. The key of a row never
 * changes, so a walk returns every row that exists throughout it exactly once, whatever is
 * created or deleted meanwhile. `count` 0 reads no resources but still says whether more follow.
 */
async function searchAfter<Row extends object>(
  sequelize: Sequelize,
  target: Searchable,
  organizationId: string,
  query: ListQuery,
  after: RowKey | null,
  filter: FilterNode | undefined,
  extraColumns = "",
): Promise<CursorPage<Row>> {
  const { alias, table } = target;
  const { where, params } = matching(target, organizationId, filter);
  const bind = [...params];
  const tail = compositeKeysetTail(
    [`${alias}.created_at`, `${alias}.id`],
    ["timestamptz", "text"],
    after === null ? undefined : [after.createdAt, after.id],
    query.count,
    bind,
    query.descending ? "desc" : "asc",
  );
  const fetched = await select<Row & { cursor_created_at: string }>(
    sequelize,
    `SELECT ${alias}.*${extraColumns}, ${KEY_CREATED_AT(alias)} FROM ${table} ${alias} WHERE ${where}${tail}`,
    bind,
  );
  const more = fetched.length > query.count;
  const page = fetched.slice(0, query.count);
  const last = page.at(-1);
  const resumeAfter = last === undefined ? after : { createdAt: last.cursor_created_at, id: (last as unknown as { id: string }).id };
  const rows = page.map(({ cursor_created_at: _key, ...row }) => row as unknown as Row);
  // As with index paging: a first page that holds every match is its own total.
  const total = after === null && !more && query.count > 0 ? rows.length : await countMatching(sequelize, target, where, params);
  return { rows, total, more, resumeAfter };
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

/** GET /Users?cursor=…: one page of a cursor walk after `after` (null: the first page). */
export function searchUsersAfter(
  sequelize: Sequelize,
  organizationId: string,
  query: ListQuery,
  after: RowKey | null,
  withMemberships: boolean,
): Promise<CursorPage<UserRow & { memberships?: MembershipRow[] }>> {
  const parsed = parsedFilter(query, USERS);
  const filter = parsed && normalizeUserNameFilter(parsed);
  return searchAfter(sequelize, USERS, organizationId, query, after, filter, withMemberships ? USER_MEMBERSHIPS_COLUMN : "");
}

/** GET /Groups?cursor=…: one page of a cursor walk after `after` (null: the first page). */
export function searchTeamsAfter(sequelize: Sequelize, organizationId: string, query: ListQuery, after: RowKey | null): Promise<CursorPage<TeamRow>> {
  return searchAfter<TeamRow>(sequelize, TEAMS, organizationId, query, after, parsedFilter(query, TEAMS));
}

/*
 * The root `POST /.search` (RFC 7644 §3.4.3): Users and Groups searched together, as one list in
 * creation order (created_at, then id; ids carry their type's prefix, so no two resources share a
 * key). Each type gets the filter as restrictFilterTo sees it (an attribute the type lacks does not
 * match), and the two are read with one UNION ALL, so index paging, cursor paging and counting
 * treat the combined set as one keyset.
 */

/** A resource the root search found: a user (with its memberships when asked) or a group. */
export type AnyResource =
  | { resourceType: "User"; row: UserRow & { memberships?: MembershipRow[] } }
  | { resourceType: "Group"; row: TeamRow };

type Branch = { target: Searchable; filter: FilterNode | undefined };
type ResourceKey = { resource_type: "User" | "Group"; id: string };

/** The types the filter can match, each with its own filter (undefined: every resource of the type). */
function rootBranches(query: ListQuery): Branch[] {
  if (query.filter === undefined) return [{ target: USERS, filter: undefined }, { target: TEAMS, filter: undefined }];
  // Checked against User, else Group: an attribute neither defines is still invalidFilter.
  const parsed = parseFilter(query.filter);
  const branches: Branch[] = [];
  for (const target of [USERS, TEAMS]) {
    const restricted = restrictFilterTo(parsed, target.resourceType);
    if (restricted === false) continue;
    const filter = restricted === true ? undefined : target === USERS ? normalizeUserNameFilter(restricted) : restricted;
    branches.push({ target, filter });
  }
  return branches;
}

/** The sortBy key of one type (NULL where the type has no such attribute: it sorts last, as a missing value does). */
function rootSortKey(sortBy: string, target: Searchable): string {
  return resolveAttribute(target.resourceType, sortBy) === undefined ? "NULL" : sortSqlFor(sortBy, target.resourceType);
}

async function countRoot(sequelize: Sequelize, branches: Branch[], wheres: string[], params: unknown[]): Promise<number> {
  const counts = branches.map(({ target: { table, alias } }, i) => `(SELECT count(*) FROM ${table} ${alias} WHERE ${wheres[i]})`);
  return (await select<{ total: number }>(sequelize, `SELECT (${counts.join(" + ")})::int AS total`, params))[0]!.total;
}

/** The rows of a page of keys, in the keys' order; a resource deleted since the keys were read is left out. */
async function loadResources(sequelize: Sequelize, organizationId: string, keys: ResourceKey[], withMemberships: boolean): Promise<AnyResource[]> {
  const idsOf = (type: ResourceKey["resource_type"]) => keys.filter((k) => k.resource_type === type).map((k) => k.id);
  const userIds = idsOf("User");
  const teamIds = idsOf("Group");
  const users = userIds.length === 0 ? [] : await select<UserRow & { memberships?: MembershipRow[] }>(
    sequelize,
    `SELECT u.*${withMemberships ? USER_MEMBERSHIPS_COLUMN : ""} FROM users u WHERE u.organization_id = $1 AND u.id = ANY($2::text[]) AND u.deleted_at IS NULL`,
    [organizationId, userIds],
  );
  const teams = teamIds.length === 0 ? [] : await select<TeamRow>(
    sequelize,
    `SELECT t.* FROM teams t WHERE t.organization_id = $1 AND t.id = ANY($2::text[]) AND t.deleted_at IS NULL`,
    [organizationId, teamIds],
  );
  const userById = new Map(users.map((row) => [row.id, row]));
  const teamById = new Map(teams.map((row) => [row.id, row]));
  return keys.flatMap((key): AnyResource[] => {
    if (key.resource_type === "User") {
      const row = userById.get(key.id);
      return row ? [{ resourceType: "User", row }] : [];
    }
    const row = teamById.get(key.id);
    return row ? [{ resourceType: "Group", row }] : [];
  });
}

/** POST /.search with index paging: filter, sortBy and startIndex over users and groups together. */
export async function searchAllResources(
  sequelize: Sequelize,
  organizationId: string,
  query: ListQuery,
  withMemberships: boolean,
): Promise<{ rows: AnyResource[]; total: number }> {
  if (query.sortBy !== undefined && resolveAttribute("User", query.sortBy) === undefined && resolveAttribute("Group", query.sortBy) === undefined) {
    throw new ValidationError(`sortBy "${query.sortBy}" is not an attribute of User or Group.`, { field: "sortBy" }, "invalidValue");
  }
  const branches = rootBranches(query);
  if (branches.length === 0) return { rows: [], total: 0 };
  const params: unknown[] = [organizationId];
  const wheres = branches.map((branch) => matchingWith(branch.target, branch.filter, params));
  const countAll = () => countRoot(sequelize, branches, wheres, params);
  if (query.count === 0) return { rows: [], total: await countAll() };
  const direction = query.descending ? "DESC" : "ASC";
  const selects = branches.map(({ target }, i) => {
    const sortKey = query.sortBy === undefined ? "" : `, ${rootSortKey(query.sortBy, target)} AS sort_key`;
    return `SELECT '${target.resourceType}'::text AS resource_type, ${target.alias}.id, ${target.alias}.created_at${sortKey} FROM ${target.table} ${target.alias} WHERE ${wheres[i]}`;
  });
  const order = query.sortBy === undefined ? `s.created_at ${direction}, s.id ${direction}` : `s.sort_key ${direction} NULLS LAST, s.created_at, s.id`;
  const keys = await select<ResourceKey>(
    sequelize,
    `SELECT s.resource_type, s.id FROM (${selects.join(" UNION ALL ")}) s ORDER BY ${order} LIMIT $${params.length + 1} OFFSET $${params.length + 2}`,
    [...params, query.count, query.startIndex - 1],
  );
  const rows = await loadResources(sequelize, organizationId, keys, withMemberships);
  const total = query.startIndex === 1 && keys.length < query.count ? keys.length : await countAll();
  return { rows, total };
}

/**
 * POST /.search with a cursor: the resources of either type after `after` in (created_at, id)
 * order. Each type reads at most count + 1 rows after the key on its own index range, and the
 * union keeps the first count + 1 of those: a keyset over both tables, no OFFSET.
 */
export async function searchAllResourcesAfter(
  sequelize: Sequelize,
  organizationId: string,
  query: ListQuery,
  after: RowKey | null,
  withMemberships: boolean,
): Promise<CursorPage<AnyResource>> {
  const branches = rootBranches(query);
  if (branches.length === 0) return { rows: [], total: 0, more: false, resumeAfter: after };
  const params: unknown[] = [organizationId];
  const wheres = branches.map((branch) => matchingWith(branch.target, branch.filter, params));
  const bind = [...params];
  const order = query.descending ? "desc" : "asc";
  const selects = branches.map(({ target: { table, alias, resourceType } }, i) => {
    const tail = compositeKeysetTail(
      [`${alias}.created_at`, `${alias}.id`],
      ["timestamptz", "text"],
      after === null ? undefined : [after.createdAt, after.id],
      query.count,
      bind,
      order,
    );
    return `(SELECT '${resourceType}'::text AS resource_type, ${alias}.id, ${alias}.created_at, ${KEY_CREATED_AT(alias)} FROM ${table} ${alias} WHERE ${wheres[i]}${tail})`;
  });
  bind.push(query.count + 1);
  const direction = query.descending ? "DESC" : "ASC";
  const fetched = await select<ResourceKey & { cursor_created_at: string }>(
    sequelize,
    `SELECT s.resource_type, s.id, s.cursor_created_at FROM (${selects.join(" UNION ALL ")}) s ORDER BY s.created_at ${direction}, s.id ${direction} LIMIT $${bind.length}`,
    bind,
  );
  const more = fetched.length > query.count;
  const page = fetched.slice(0, query.count);
  const last = page.at(-1);
  const resumeAfter = last === undefined ? after : { createdAt: last.cursor_created_at, id: last.id };
  const rows = await loadResources(sequelize, organizationId, page, withMemberships);
  const total = after === null && !more && query.count > 0 ? page.length : await countRoot(sequelize, branches, wheres, params);
  return { rows, total, more, resumeAfter };
}
