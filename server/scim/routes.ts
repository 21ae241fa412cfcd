import Router from "@koa/router";
import type { AppContext, AppState } from "../context.ts";
import type { AppDeps } from "../deps.ts";
import { AppError, NotFoundError } from "../errors.ts";
import { scimAuth, scimRateLimit } from "../middleware/scimAuth.ts";
import { jsonBody } from "../middleware/jsonBody.ts";
import { SCIM_MEDIA_TYPE } from "../middleware/errorHandler.ts";
import { createUser, deleteUser, patchUser, replaceUser, type UserCommandDeps } from "../commands/users/userCommands.ts";
import { createGroup, deleteGroup, patchGroup, replaceGroup, type GroupCommandDeps } from "../commands/groups/groupCommands.ts";
import type { Actor } from "../changes/change.ts";
import { findUserWithMemberships } from "../models/userQueries.ts";
import { findTeam, memberIdsOfTeams } from "../models/teamQueries.ts";
import { membershipsOfUsers } from "../models/membershipQueries.ts";
import { searchTeams, searchUsers } from "../models/scimSearch.ts";
import { UserKeyLookups } from "../models/userKeyLookups.ts";
import type { MembershipRow, TeamRow, UserRow } from "../models/rows.ts";
import { listResponse, resourceTypes, schemas, serviceProviderConfig } from "./discovery.ts";
import { parseListQuery, type ListQuery } from "./listQuery.ts";
import { applyProjection, excludesAttribute, parseProjection, type Projection } from "./projection.ts";
import { etagOf, presentScimUser } from "./presenters/scimUser.ts";
import { presentScimGroup } from "./presenters/scimGroup.ts";

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
  const commandDeps: GroupCommandDeps & UserCommandDeps = {
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
  router.use(scimAuth(sequelize, deps.tenantCache, deps.config.scim.rateLimit, deps.clock));
  router.use(scimRateLimit(deps.rateLimiter, deps.clock, deps.metrics));
  // After authentication and the rate limit: a bad token is a 401 whatever its body, and is never parsed.
  const { limits } = deps.config.scim;
  router.use(jsonBody(deps.config.scim.bodyLimitBytes, { maxObjectKeys: limits.maxObjectKeys, maxStringLength: limits.maxStringLength }));

  const userResource = async (row: UserRow, projection: Projection, memberships?: MembershipRow[]) => {
    const teams = excludesAttribute(projection, "groups") ? null : memberships ?? (await membershipsOfUsers(sequelize, [row.id])).get(row.id) ?? [];
    return applyProjection(presentScimUser(row, teams, deps.config.publicUrl), projection);
  };
  const groupResource = async (row: TeamRow, projection: Projection) => {
    const members = excludesAttribute(projection, "members") ? null : (await memberIdsOfTeams(sequelize, [row.id])).get(row.id) ?? [];
    return applyProjection(presentScimGroup(row, members, deps.config.publicUrl), projection);
  };
  const listUsers = async (ctx: AppContext, query: ListQuery) => {
    const withGroups = !excludesAttribute(query.projection, "groups");
    const { rows, total } = await searchUsers(sequelize, ctx.state.tenant!.organizationId, query, withGroups, userKeyLookups);
    const resources = rows.map((r) => applyProjection(presentScimUser(r, r.memberships ?? null, deps.config.publicUrl), query.projection));
    send(ctx, 200, listResponse(resources, total, query.startIndex, query.count > 0));
  };
  const listGroups = async (ctx: AppContext, query: ListQuery) => {
    const { rows, total } = await searchTeams(sequelize, ctx.state.tenant!.organizationId, query);
    const members = excludesAttribute(query.projection, "members") ? null : await memberIdsOfTeams(sequelize, rows.map((r) => r.id));
    const resources = rows.map((r) => applyProjection(presentScimGroup(r, members?.get(r.id) ?? null, deps.config.publicUrl), query.projection));
    send(ctx, 200, listResponse(resources, total, query.startIndex, query.count > 0));
  };

  router.get("/ServiceProviderConfig", (ctx) => send(ctx, 200, serviceProviderConfig(base, deps.config.scim.maxResults)));
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
  router.post("/Bulk", () => {
    throw new AppError(501, "not_implemented", "Bulk operations are not supported (see /ServiceProviderConfig).");
  });

  router.get("/Users", (ctx) => listUsers(ctx, parseListQuery(ctx.query, deps.config.scim.maxResults)));
  router.post("/Users/.search", (ctx) => listUsers(ctx, parseListQuery(searchBody(ctx), deps.config.scim.maxResults)));
  router.post("/Users", async (ctx) => {
    const result = await createUser(commandDeps, ctx.state.tenant!, actorOf(ctx), ctx.state.body);
    ctx.set("Location", `${base}/Users/${result.row.id}`);
    send(ctx, 201, await userResource(result.row, projectionOf(ctx), result.memberships), result.row.version);
  });
  router.get("/Users/:id", async (ctx) => {
    const row = await findUserWithMemberships(sequelize, ctx.state.tenant!.organizationId, ctx.params.id!);
    if (!row) throw new NotFoundError("User", ctx.params.id);
    if (answeredNotModified(ctx, row.version)) return;
    send(ctx, 200, await userResource(row, projectionOf(ctx), row.memberships), row.version);
  });
  router.put("/Users/:id", async (ctx) => {
    const result = await replaceUser(commandDeps, ctx.state.tenant!, actorOf(ctx), ctx.params.id!, ctx.state.body, ifMatchOf(ctx));
    send(ctx, 200, await userResource(result.row, projectionOf(ctx), result.memberships), result.row.version);
  });
  router.patch("/Users/:id", async (ctx) => {
    const result = await patchUser(commandDeps, ctx.state.tenant!, actorOf(ctx), ctx.params.id!, ctx.state.body, ifMatchOf(ctx));
    send(ctx, 200, await userResource(result.row, projectionOf(ctx), result.memberships), result.row.version);
  });
  router.delete("/Users/:id", async (ctx) => {
    await deleteUser(commandDeps, ctx.state.tenant!, actorOf(ctx), ctx.params.id!, ifMatchOf(ctx));
    ctx.status = 204;
  });

  router.get("/Groups", (ctx) => listGroups(ctx, parseListQuery(ctx.query, deps.config.scim.maxResults)));
  router.post("/Groups/.search", (ctx) => listGroups(ctx, parseListQuery(searchBody(ctx), deps.config.scim.maxResults)));
  router.post("/Groups", async (ctx) => {
    const { row } = await createGroup(commandDeps, ctx.state.tenant!, actorOf(ctx), ctx.state.body);
    ctx.set("Location", `${base}/Groups/${row.id}`);
    send(ctx, 201, await groupResource(row, projectionOf(ctx)), row.version);
  });
  router.get("/Groups/:id", async (ctx) => {
    const row = await findTeam(sequelize, ctx.state.tenant!.organizationId, ctx.params.id!);
    if (!row) throw new NotFoundError("Group", ctx.params.id);
    if (answeredNotModified(ctx, row.version)) return;
    send(ctx, 200, await groupResource(row, projectionOf(ctx)), row.version);
  });
  router.put("/Groups/:id", async (ctx) => {
    const { row } = await replaceGroup(commandDeps, ctx.state.tenant!, actorOf(ctx), ctx.params.id!, ctx.state.body, ifMatchOf(ctx));
    send(ctx, 200, await groupResource(row, projectionOf(ctx)), row.version);
  });
  router.patch("/Groups/:id", async (ctx) => {
    const { row } = await patchGroup(commandDeps, ctx.state.tenant!, actorOf(ctx), ctx.params.id!, ctx.state.body, ifMatchOf(ctx));
    // RFC 7644 §3.5.2: 200 with the resource, or 204; 200 (as projected) when the request names
    // attributes. A group push answered with all of a large group's members cost a query and a
    // body the size of the group per PATCH; Okta, Entra and OneLogin accept 204 for a group PATCH.
    if (!asksForAttributes(ctx)) {
      ctx.status = 204;
      ctx.set("ETag", etagOf(row.version));
      return;
    }
    send(ctx, 200, await groupResource(row, projectionOf(ctx)), row.version);
  });
  router.delete("/Groups/:id", async (ctx) => {
    await deleteGroup(commandDeps, ctx.state.tenant!, actorOf(ctx), ctx.params.id!, ifMatchOf(ctx));
    ctx.status = 204;
  });
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
