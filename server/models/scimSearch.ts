import type { Sequelize } from "sequelize";
import { normalizeUserNameFilter } from "../scim/userNameForm.ts";
import { compileFilterToSql, parseFilter, sortSqlFor, type FilterNode } from "../scim/filter/index.ts";
import type { ListQuery } from "../scim/listQuery.ts";
import type { MembershipRow, TeamRow, UserRow } from "./rows.ts";
import { select } from "./sql.ts";
import { USER_MEMBERSHIPS_COLUMN } from "./membershipQueries.ts";
import type { UserKey, UserKeyLookups } from "./userKeyLookups.ts";
import { compositeKeysetTail } from "./keysetPage.ts";

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
  const { alias } = target;
  const params: unknown[] = [organizationId];
  let where = `${alias}.organization_id = $1 AND ${alias}.deleted_at IS NULL`;
  if (filter !== undefined) {
    const compiled = compileFilterToSql(filter, target.resourceType, { bindOffset: params.length });
    where += ` AND (${compiled.sql})`;
    params.push(...compiled.params);
  }
  return { where, params };
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
  // Backward reads the walk's order reversed from the key, then turns the page around.
  const descending = query.descending !== from.backward;
  const tail = compositeKeysetTail(
    [`${alias}.created_at`, `${alias}.id`],
    ["timestamptz", "text"],
    from.key === null ? undefined : [from.key.createdAt, from.key.id],
    query.count,
    bind,
    descending ? "desc" : "asc",
  );
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
