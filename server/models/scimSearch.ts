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

/** Where a page of a cursor walk starts: after `key` (null: at the start), or, walking back, before `key`. */
export type WalkFrom = { key: RowKey | null; backward: boolean };

/** One page of a cursor walk, its rows in walk order, with what the next and previous cursors are made of. */
export type CursorPage<Row> = {
  rows: Row[];
  /** Every match of the query now (RFC 7644 §3.4.2: all pages, not the ones left). */
  total: number;
  /** Whether more rows lie beyond this page in the direction it was read. */
  more: boolean;
  /** Keys of the page's first and last rows (null for an empty page). */
  first: RowKey | null;
  last: RowKey | null;
  /** Read backward: the nearest row before the incoming key (null: none), after which the walk forward resumes. */
  nearest: RowKey | null;
};

/** The text form of a row's creation time in a cursor: UTC with microseconds, so no two instants collide. */
const KEY_CREATED_AT = (alias: string) => `to_char(${alias}.created_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"') AS cursor_created_at`;

type Keyed = { cursor_created_at: string; id: string };
const keyOf = (row: Keyed | undefined): RowKey | null => (row === undefined ? null : { createdAt: row.cursor_created_at, id: row.id });

/** Backward reads the walk's order reversed from the key, then turns the page around. */
const walkDescending = (query: ListQuery, from: WalkFrom) => query.descending !== from.backward;

/** The keyset tail of a cursor page over `alias` (created_at, id): beyond the walk's key, count + 1 rows, in read order. */
function walkTail(alias: string, query: ListQuery, from: WalkFrom, bind: unknown[]): string {
  return compositeKeysetTail(
    [`${alias}.created_at`, `${alias}.id`],
    ["timestamptz", "text"],
    from.key === null ? undefined : [from.key.createdAt, from.key.id],
    query.count,
    bind,
    walkDescending(query, from) ? "desc" : "asc",
  );
}

/**
 * RFC 9865 cursor paging without OFFSET: the rows after the key (created_at, id) of the previous
 * page's last row — or, read backward, before the key of its first row — in the same order as
 * index paging without sortBy. The key of a row never changes, so a walk returns every row that
 * exists throughout it exactly once, whatever is created, changed or deleted meanwhile. `count` 0
 * reads no resources but still says whether more follow.
 */
async function searchAfter<Row extends object>(
  sequelize: Sequelize,
  target: Searchable,
  organizationId: string,
  query: ListQuery,
  from: WalkFrom,
  filter: FilterNode | undefined,
  extraColumns = "",
): Promise<CursorPage<Row>> {
  const { alias, table } = target;
  const { where, params } = matching(target, organizationId, filter);
  const bind = [...params];
  const tail = walkTail(alias, query, from, bind);
  const fetched = await select<Row & Keyed>(
    sequelize,
    `SELECT ${alias}.*${extraColumns}, ${KEY_CREATED_AT(alias)} FROM ${table} ${alias} WHERE ${where}${tail}`,
    bind,
  );
  const more = fetched.length > query.count;
  const page = fetched.slice(0, query.count);
  if (from.backward) page.reverse();
  const rows = page.map(({ cursor_created_at: _key, ...row }) => row as unknown as Row);
  // As with index paging: a first page that holds every match is its own total.
  const whole = from.key === null && !from.backward && !more && query.count > 0;
  const total = whole ? rows.length : await countMatching(sequelize, target, where, params);
  return { rows, total, more, first: keyOf(page[0]), last: keyOf(page.at(-1)), nearest: from.backward ? keyOf(fetched[0]) : null };
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

/** GET /Users?cursor=…: one page of a cursor walk from `from`. */
export function searchUsersAfter(
  sequelize: Sequelize,
  organizationId: string,
  query: ListQuery,
  from: WalkFrom,
  withMemberships: boolean,
): Promise<CursorPage<UserRow & { memberships?: MembershipRow[] }>> {
  const parsed = parsedFilter(query, USERS);
  const filter = parsed && normalizeUserNameFilter(parsed);
  return searchAfter(sequelize, USERS, organizationId, query, from, filter, withMemberships ? USER_MEMBERSHIPS_COLUMN : "");
}

/** GET /Groups?cursor=…: one page of a cursor walk from `from`. */
export function searchTeamsAfter(sequelize: Sequelize, organizationId: string, query: ListQuery, from: WalkFrom): Promise<CursorPage<TeamRow>> {
  return searchAfter<TeamRow>(sequelize, TEAMS, organizationId, query, from, parsedFilter(query, TEAMS));
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
 * POST /.search with a cursor: the resources of either type after `from` in (created_at, id)
 * order (or, read backward, before it). Each type reads at most count + 1 rows beyond the key on
 * its own index range, and the union keeps the first count + 1 of those: a keyset over both
 * tables, no OFFSET.
 */
export async function searchAllResourcesAfter(
  sequelize: Sequelize,
  organizationId: string,
  query: ListQuery,
  from: WalkFrom,
  withMemberships: boolean,
): Promise<CursorPage<AnyResource>> {
  const branches = rootBranches(query);
  if (branches.length === 0) return { rows: [], total: 0, more: false, first: null, last: null, nearest: null };
  const params: unknown[] = [organizationId];
  const wheres = branches.map((branch) => matchingWith(branch.target, branch.filter, params));
  const bind = [...params];
  const selects = branches.map(({ target: { table, alias, resourceType } }, i) => {
    const tail = walkTail(alias, query, from, bind);
    return `(SELECT '${resourceType}'::text AS resource_type, ${alias}.id, ${alias}.created_at, ${KEY_CREATED_AT(alias)} FROM ${table} ${alias} WHERE ${wheres[i]}${tail})`;
  });
  bind.push(query.count + 1);
  const direction = walkDescending(query, from) ? "DESC" : "ASC";
  const fetched = await select<ResourceKey & Keyed>(
    sequelize,
    `SELECT s.resource_type, s.id, s.cursor_created_at FROM (${selects.join(" UNION ALL ")}) s ORDER BY s.created_at ${direction}, s.id ${direction} LIMIT $${bind.length}`,
    bind,
  );
  const more = fetched.length > query.count;
  const page = fetched.slice(0, query.count);
  if (from.backward) page.reverse();
  const rows = await loadResources(sequelize, organizationId, page, withMemberships);
  const whole = from.key === null && !from.backward && !more && query.count > 0;
  const total = whole ? page.length : await countRoot(sequelize, branches, wheres, params);
  return { rows, total, more, first: keyOf(page[0]), last: keyOf(page.at(-1)), nearest: from.backward ? keyOf(fetched[0]) : null };
}
