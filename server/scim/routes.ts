import Router from "@koa/router";
import type { AppContext, AppState } from "../context.ts";
import type { AppDeps } from "../deps.ts";
import { NotFoundError } from "../errors.ts";
import { scimAuth, scimRateLimit, takeScimRateToken } from "../middleware/scimAuth.ts";
import { jsonBody } from "../middleware/jsonBody.ts";
import { SCIM_MEDIA_TYPE } from "../middleware/errorHandler.ts";
import { countProvisioning } from "../middleware/scimInstrumentation.ts";
import type { Actor } from "../changes/change.ts";
import { findUserWithMemberships } from "../models/userQueries.ts";
import { findTeam, memberIdsOfTeams } from "../models/teamQueries.ts";
import { membershipsOfUsers } from "../models/membershipQueries.ts";
import {
  searchAllResources,
  searchAllResourcesAfter,
  searchTeams,
  searchTeamsAfter,
  searchUsers,
  searchUsersAfter,
  type AnyResource,
  type CursorPage,
  type WalkFrom,
} from "../models/scimSearch.ts";
import { keyRingOf } from "../crypto/secretBox.ts";
import { CursorCodec, pageCursors, type CursorScope } from "./cursor.ts";
import { UserKeyLookups } from "../models/userKeyLookups.ts";
import type { MembershipRow, TeamRow, UserRow } from "../models/rows.ts";
import { cursorListResponse, listResponse, resourceTypes, schemas, serviceProviderConfig } from "./discovery.ts";
import { parseListQuery, type ListQuery } from "./listQuery.ts";
import { applyProjection, excludesAttribute, parseProjection, type Projection } from "./projection.ts";
import { etagOf, presentScimUser } from "./presenters/scimUser.ts";
import { presentScimGroup } from "./presenters/scimGroup.ts";
import { performScimWrite, type ScimWrite, type ScimWriteDeps, type ScimWriteOutcome } from "./resourceWrites.ts";
import { BulkLimitError, parseBulkRequest } from "./bulk/bulkRequest.ts";
import { runBulk } from "./bulk/runBulk.ts";

/** Sends a SCIM JSON response (application/scim+json), with an ETag when a version is given. */
function send(ctx: AppContext, status: number, body: unknown, version?: number): void {
  ctx.status = status;
  ctx.body = body;
  ctx.type = SCIM_MEDIA_TYPE;
  if (version !== undefined) ctx.set("ETag", etagOf(version));
}

/**
 * RFC 7232 §3.2 (RFC 7644 §3.14): a GET whose If-None-Match names the current version (weak
 * comparison, so `W/"3"` and `"3"` are the same) or is `*` gets 304 with the ETag and no body.
 */
function answeredNotModified(ctx: AppContext, version: number): boolean {
  const header = ctx.get("If-None-Match").trim();
  if (header === "") return false;
  const opaque = (tag: string) => tag.trim().replace(/^W\//, "");
  const current = opaque(etagOf(version));
  if (header !== "*" && !header.split(",").some((tag) => opaque(tag) === current)) return false;
  ctx.status = 304;
  ctx.body = null;
  ctx.set("ETag", etagOf(version));
  return true;
}

const actorOf = (ctx: AppContext): Actor => ({ type: "scim_token", id: ctx.state.tenant!.tokenId });
const ifMatchOf = (ctx: AppContext) => ctx.get("If-Match") || undefined;
/** Whether the request names `attributes` or `excludedAttributes` (any case). */
const asksForAttributes = (ctx: AppContext) => Object.keys(ctx.query).some((k) => ["attributes", "excludedattributes"].includes(k.toLowerCase()));
const projectionOf = (ctx: AppContext) => {
  const q = ctx.query;
  const one = (v: unknown) => (Array.isArray(v) ? v.join(",") : typeof v === "string" ? v : undefined);
  const attributes = Object.entries(q).find(([k]) => k.toLowerCase() === "attributes")?.[1];
  const excluded = Object.entries(q).find(([k]) => k.toLowerCase() === "excludedattributes")?.[1];
  return parseProjection(one(attributes), one(excluded));
};

/** SCIM 2.0 routes under /scim/v2; the organization comes from the token, never the path. */
export function buildScimRouter(deps: AppDeps): Router<AppState> {
  const router = new Router<AppState>({ prefix: "/scim/v2" });
  const { sequelize } = deps.db;
  const base = `${deps.config.publicUrl}/scim/v2`;
  const commandDeps: ScimWriteDeps = {
    sequelize,
    metrics: deps.metrics,
    now: () => deps.clock.now(),
    pendingTtlMs: deps.config.scim.pendingMembershipTtlHours * 3_600_000,
    maxPendingPerGroup: deps.config.scim.maxPendingMembersPerGroup,
    maxPendingPerOrganization: deps.config.scim.maxPendingMembersPerOrganization,
    limits: deps.config.scim.limits,
    mappingBudgetMs: deps.config.mappingRequestBudgetMs,
  };
  const userKeyLookups = new UserKeyLookups(sequelize);
  // Stateless RFC 9865 cursors, signed with a key derived from the encryption key ring (server/scim/cursor.ts).
  const cursors = new CursorCodec(keyRingOf(sequelize).derivedKeys("scim-cursor"), deps.config.scim.cursorTimeoutSeconds, () => deps.clock.now());
  const cursorScope = (ctx: AppContext, resourceType: CursorScope["resourceType"], query: ListQuery): CursorScope => ({
    organizationId: ctx.state.tenant!.organizationId,
    resourceType,
    filter: query.filter,
    descending: query.descending,
  });
  router.use(scimAuth(sequelize, deps.tenantCache, deps.config.scim.rateLimit, deps.clock));
  router.use(scimRateLimit(deps.rateLimiter, deps.clock, deps.metrics));
  // After authentication and the rate limit: a bad token is a 401 whatever its body, and is never parsed.
  const { limits } = deps.config.scim;
  // RFC 7644 §3.7.4: a Bulk body over maxPayloadSize (the one SCIM body limit) is a 413 naming that limit.
  const isBulk = (ctx: AppContext) => /\/Bulk\/?$/i.test(ctx.path);
  const bulkLimits = { maxOperations: deps.config.scim.bulkMaxOperations, maxPayloadSize: deps.config.scim.bodyLimitBytes };
  const tooLarge = (ctx: AppContext, limitBytes: number) =>
    isBulk(ctx)
      ? new BulkLimitError(`The size of the bulk request exceeds the maxPayloadSize (${limitBytes}) of /ServiceProviderConfig (ROLLCALL_SCIM_BODY_LIMIT_BYTES).`, limitBytes, "ROLLCALL_SCIM_BODY_LIMIT_BYTES")
      : undefined;
  router.use(jsonBody(deps.config.scim.bodyLimitBytes, { maxObjectKeys: limits.maxObjectKeys, maxStringLength: limits.maxStringLength, tooLarge }));

  const userResource = async (row: UserRow, projection: Projection, memberships?: MembershipRow[]) => {
    const teams = excludesAttribute(projection, "groups") ? null : memberships ?? (await membershipsOfUsers(sequelize, [row.id])).get(row.id) ?? [];
    return applyProjection(presentScimUser(row, teams, deps.config.publicUrl), projection);
  };
  const groupResource = async (row: TeamRow, projection: Projection) => {
    const members = excludesAttribute(projection, "members") ? null : (await memberIdsOfTeams(sequelize, [row.id])).get(row.id) ?? [];
    return applyProjection(presentScimGroup(row, members, deps.config.publicUrl), projection);
  };
  const write = (ctx: AppContext, scimWrite: ScimWrite) => performScimWrite(commandDeps, ctx.state.tenant!, actorOf(ctx), base, scimWrite);
  /** Answers a single-resource write: 201 with Location, or 200, with the resource and its ETag; 204 for a delete. */
  const answerWrite = async (ctx: AppContext, outcome: ScimWriteOutcome) => {
    if (outcome.status === 204) {
      ctx.status = 204;
      return;
    }
    if (outcome.status === 201) ctx.set("Location", outcome.location);
    const resource = outcome.resource === "Users"
      ? await userResource(outcome.row, projectionOf(ctx), outcome.memberships)
      : await groupResource(outcome.row, projectionOf(ctx));
    send(ctx, outcome.status, resource, outcome.version);
  };
  /** One page of an RFC 9865 cursor walk: open the cursor, read the rows it points at, sign the next and previous ones. */
  const cursorPage = async <Row>(
    ctx: AppContext,
    query: ListQuery,
    resourceType: CursorScope["resourceType"],
    read: (organizationId: string, from: WalkFrom) => Promise<CursorPage<Row>>,
    present: (rows: Row[]) => unknown[] | Promise<unknown[]>,
  ) => {
    const scope = cursorScope(ctx, resourceType, query);
    const from = cursors.open(scope, query.cursor!);
    const page = await read(scope.organizationId, from);
    send(ctx, 200, cursorListResponse(await present(page.rows), page.total, pageCursors(cursors, scope, from, page), query.count > 0));
  };
  const presentUsers = (rows: Array<UserRow & { memberships?: MembershipRow[] }>, query: ListQuery) =>
    rows.map((r) => applyProjection(presentScimUser(r, r.memberships ?? null, deps.config.publicUrl), query.projection));
  const listUsers = async (ctx: AppContext, query: ListQuery) => {
    const withGroups = !excludesAttribute(query.projection, "groups");
    if (query.cursor !== undefined) {
      const read = (organizationId: string, from: WalkFrom) => searchUsersAfter(sequelize, organizationId, query, from, withGroups);
      return cursorPage(ctx, query, "User", read, (rows) => presentUsers(rows, query));
    }
    const { rows, total } = await searchUsers(sequelize, ctx.state.tenant!.organizationId, query, withGroups, userKeyLookups);
    send(ctx, 200, listResponse(presentUsers(rows, query), total, query.startIndex, query.count > 0));
  };
  const presentGroups = async (rows: TeamRow[], query: ListQuery) => {
    const members = excludesAttribute(query.projection, "members") ? null : await memberIdsOfTeams(sequelize, rows.map((r) => r.id));
    return rows.map((r) => applyProjection(presentScimGroup(r, members?.get(r.id) ?? null, deps.config.publicUrl), query.projection));
  };
  const listGroups = async (ctx: AppContext, query: ListQuery) => {
    if (query.cursor !== undefined) {
      const read = (organizationId: string, from: WalkFrom) => searchTeamsAfter(sequelize, organizationId, query, from);
      return cursorPage(ctx, query, "Group", read, (rows) => presentGroups(rows, query));
    }
    const { rows, total } = await searchTeams(sequelize, ctx.state.tenant!.organizationId, query);
    send(ctx, 200, listResponse(await presentGroups(rows, query), total, query.startIndex, query.count > 0));
  };
  /** Users and groups of a root /.search page, in the page's order, each presented as its own endpoint would. */
  const presentAny = async (rows: AnyResource[], query: ListQuery) => {
    const users = rows.flatMap((r) => (r.resourceType === "User" ? [r.row] : []));
    const teams = rows.flatMap((r) => (r.resourceType === "Group" ? [r.row] : []));
    const presentedUsers = new Map(presentUsers(users, query).map((resource, i) => [users[i]!.id, resource]));
    const presentedTeams = new Map((await presentGroups(teams, query)).map((resource, i) => [teams[i]!.id, resource]));
    return rows.map((r) => (r.resourceType === "User" ? presentedUsers.get(r.row.id) : presentedTeams.get(r.row.id)));
  };
  // RFC 7644 §3.4.3: POST /.search at the root searches every resource type: users and groups in
  // one order (creation time, then id) over both, not one list after the other (README "SCIM semantics").
  const listAll = async (ctx: AppContext, query: ListQuery) => {
    const withGroups = !excludesAttribute(query.projection, "groups");
    if (query.cursor !== undefined) {
      const read = (organizationId: string, from: WalkFrom) => searchAllResourcesAfter(sequelize, organizationId, query, from, withGroups);
      return cursorPage(ctx, query, "All", read, (rows) => presentAny(rows, query));
    }
    const { rows, total } = await searchAllResources(sequelize, ctx.state.tenant!.organizationId, query, withGroups);
    send(ctx, 200, listResponse(await presentAny(rows, query), total, query.startIndex, query.count > 0));
  };

  const { maxResults, cursorTimeoutSeconds } = deps.config.scim;
  router.get("/ServiceProviderConfig", (ctx) => send(ctx, 200, serviceProviderConfig(base, maxResults, cursorTimeoutSeconds, bulkLimits)));
  router.get("/ResourceTypes", (ctx) => {
    const types = resourceTypes(base);
    send(ctx, 200, listResponse(types, types.length, 1));
  });
  router.get("/ResourceTypes/:id", (ctx) => {
    const type = resourceTypes(base).find((t) => t.id === ctx.params.id);
    if (!type) throw new NotFoundError("ResourceType", ctx.params.id);
    send(ctx, 200, type);
  });
  router.get("/Schemas", (ctx) => {
    const docs = schemas(base);
    send(ctx, 200, listResponse(docs, docs.length, 1));
  });
  router.get("/Schemas/:id", (ctx) => {
    const doc = schemas(base).find((s) => s.id === ctx.params.id);
    if (!doc) throw new NotFoundError("Schema", ctx.params.id);
    send(ctx, 200, doc);
  });
  // RFC 7644 §3.7. The request takes one rate-limit token at the door like any other, and each
  // operation after its first takes one more: a Bulk costs what its operations would cost alone.
  router.post("/Bulk", async (ctx) => {
    const request = parseBulkRequest(ctx.state.body, bulkLimits.maxOperations);
    const response = await runBulk(request, {
      perform: (scimWrite) => write(ctx, scimWrite),
      admit: () => takeScimRateToken(deps.rateLimiter, deps.clock, deps.metrics, ctx.state.tenant!),
      locationOf: (resource, id) => `${base}/${resource}/${encodeURIComponent(id)}`,
      observe: (operation, status) => countProvisioning(deps.metrics, operation.method, operation.resource, status),
      failed: (error, thrown) => ctx.state.log.error({ err: error.cause ?? thrown, code: error.code }, "bulk operation failed"),
    });
    send(ctx, 200, response);
  });

  router.post("/.search", (ctx) => listAll(ctx, parseListQuery(searchBody(ctx), deps.config.scim.maxResults)));

  router.get("/Users", (ctx) => listUsers(ctx, parseListQuery(ctx.query, deps.config.scim.maxResults)));
  router.post("/Users/.search", (ctx) => listUsers(ctx, parseListQuery(searchBody(ctx), deps.config.scim.maxResults)));
  router.post("/Users", async (ctx) => answerWrite(ctx, await write(ctx, { method: "POST", resource: "Users", body: ctx.state.body })));
  router.get("/Users/:id", async (ctx) => {
    const row = await findUserWithMemberships(sequelize, ctx.state.tenant!.organizationId, ctx.params.id!);
    if (!row) throw new NotFoundError("User", ctx.params.id);
    if (answeredNotModified(ctx, row.version)) return;
    send(ctx, 200, await userResource(row, projectionOf(ctx), row.memberships), row.version);
  });
  router.put("/Users/:id", async (ctx) =>
    answerWrite(ctx, await write(ctx, { method: "PUT", resource: "Users", id: ctx.params.id!, body: ctx.state.body, ifMatch: ifMatchOf(ctx) })));
  router.patch("/Users/:id", async (ctx) =>
    answerWrite(ctx, await write(ctx, { method: "PATCH", resource: "Users", id: ctx.params.id!, body: ctx.state.body, ifMatch: ifMatchOf(ctx) })));
  router.delete("/Users/:id", async (ctx) =>
    answerWrite(ctx, await write(ctx, { method: "DELETE", resource: "Users", id: ctx.params.id!, ifMatch: ifMatchOf(ctx) })));

  router.get("/Groups", (ctx) => listGroups(ctx, parseListQuery(ctx.query, deps.config.scim.maxResults)));
  router.post("/Groups/.search", (ctx) => listGroups(ctx, parseListQuery(searchBody(ctx), deps.config.scim.maxResults)));
  router.post("/Groups", async (ctx) => answerWrite(ctx, await write(ctx, { method: "POST", resource: "Groups", body: ctx.state.body })));
  router.get("/Groups/:id", async (ctx) => {
    const row = await findTeam(sequelize, ctx.state.tenant!.organizationId, ctx.params.id!);
    if (!row) throw new NotFoundError("Group", ctx.params.id);
    if (answeredNotModified(ctx, row.version)) return;
    send(ctx, 200, await groupResource(row, projectionOf(ctx)), row.version);
  });
  router.put("/Groups/:id", async (ctx) =>
    answerWrite(ctx, await write(ctx, { method: "PUT", resource: "Groups", id: ctx.params.id!, body: ctx.state.body, ifMatch: ifMatchOf(ctx) })));
  router.patch("/Groups/:id", async (ctx) => {
    const outcome = await write(ctx, { method: "PATCH", resource: "Groups", id: ctx.params.id!, body: ctx.state.body, ifMatch: ifMatchOf(ctx) });
    // RFC 7644 §3.5.2: 200 with the resource, or 204; 200 (as projected) when the request names
    // attributes. A group push answered with all of a large group's members cost a query and a
    // body the size of the group per PATCH; Okta, Entra and OneLogin accept 204 for a group PATCH.
    if (outcome.status === 200 && !asksForAttributes(ctx)) {
      ctx.status = 204;
      ctx.set("ETag", etagOf(outcome.version));
      return;
    }
    await answerWrite(ctx, outcome);
  });
  router.delete("/Groups/:id", async (ctx) =>
    answerWrite(ctx, await write(ctx, { method: "DELETE", resource: "Groups", id: ctx.params.id!, ifMatch: ifMatchOf(ctx) })));
  return router;
}

/** The body of a POST /.search (RFC 7644 §3.4.3), in the shape of list query parameters. */
function searchBody(ctx: AppContext): Record<string, unknown> {
  const body = ctx.state.body;
  if (typeof body !== "object" || body === null || Array.isArray(body)) return {};
  const out: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(body)) {
    if (key === "schemas") continue;
    out[key] = Array.isArray(value) ? value.join(",") : typeof value === "number" ? String(value) : value;
  }
  return out;
}
