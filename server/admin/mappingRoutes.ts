import Router from "@koa/router";
import { z } from "zod";
import type { AppDeps } from "../deps.ts";
import { compileOrExplain, currentMapping, mappingVersions, presentMapping, storeMapping } from "../commands/attributeMappings.ts";
import { loadCurrentMapping, mapUser } from "../commands/userMapping.ts";
import { canonicalizeResource } from "../scim/schemas/index.ts";
import { resolveOrgParam, type OrgState } from "./orgParam.ts";
import { scheduleMappingApply } from "../../reconciler/mappingApply.ts";
import { documented } from "./apiDocs.ts";
import { attributeMapping, attributeMappingPut, attributeMappingVersions, mappingPreview } from "./responseSchemas.ts";

const putBody = z.strictObject({ mapping: z.record(z.string(), z.unknown()) });
/** `?apply=true`: re-map existing users to the new version in the background (a reconciler repair of mapping drift). */
const putQuery = z.object({ apply: z.enum(["true", "false"], { message: "must be true or false" }).optional() });
const previewBody = z.strictObject({
  scim_user: z.record(z.string(), z.unknown()),
  mapping: z.record(z.string(), z.unknown()).optional(),
});

/** Team names for a previewed user: its `groups` display names (or values), as the IdP would send them. */
function previewTeamNames(scimUser: Record<string, unknown>): string[] {
  const groups = Object.entries(scimUser).find(([k]) => k.toLowerCase() === "groups")?.[1];
  if (!Array.isArray(groups)) return [];
  return groups
    .map((g) => (typeof g === "string" ? g : typeof g === "object" && g !== null ? ((g as Record<string, unknown>).display ?? (g as Record<string, unknown>).value) : undefined))
    .filter((n): n is string => typeof n === "string" && n !== "");
}

/** Attribute-mapping admin API: upload a version, read current and history, preview a user. */
export function buildMappingRouter(deps: AppDeps): Router<OrgState> {
  const router = new Router<OrgState>({ prefix: "/v1/organizations/:org/scim/attribute-mappings" });
  resolveOrgParam(router, deps.models);
  const { sequelize } = deps.db;

  documented(router, {
    method: "put",
    path: "/v1/organizations/:org/scim/attribute-mappings",
    tag: "Attribute mapping",
    summary: "Upload a new mapping version",
    query: putQuery,
    body: putBody,
    responses: { 200: { description: "The stored version.", schema: attributeMappingPut } },
  });
  router.put("/", async (ctx) => {
    const body = putBody.parse(ctx.state.body ?? {});
    const apply = putQuery.parse(ctx.query).apply === "true";
    const row = await storeMapping(sequelize, { organizationId: ctx.state.organizationId, document: body.mapping, actor: { type: "admin", id: null } }, deps.clock.now());
    // Cached token lookups carry the mapping version; this process forgets them at once, others on NOTIFY.
    deps.tenantCache.forgetOrganization(ctx.state.organizationId);
    ctx.body = {
      ...presentMapping(ctx.state.organizationId, row),
      ...(apply
        ? { apply: scheduleMappingApply({ sequelize, logger: deps.logger, metrics: deps.metrics, clock: deps.clock }, ctx.state.organizationId) }
        : {}),
    };
  });

  documented(router, {
    method: "get",
    path: "/v1/organizations/:org/scim/attribute-mappings",
    tag: "Attribute mapping",
    summary: "The current mapping and the defaults",
    responses: { 200: { description: "The current version (id and version null when none was uploaded).", schema: attributeMapping } },
  });
  router.get("/", async (ctx) => {
    ctx.body = presentMapping(ctx.state.organizationId, await currentMapping(sequelize, ctx.state.organizationId));
  });

  documented(router, {
    method: "get",
    path: "/v1/organizations/:org/scim/attribute-mappings/versions",
    tag: "Attribute mapping",
    summary: "Every uploaded mapping version, newest first",
    responses: { 200: { description: "All versions.", schema: attributeMappingVersions } },
  });
  router.get("/versions", async (ctx) => {
    const rows = await mappingVersions(sequelize, ctx.state.organizationId);
    ctx.body = { object: "list", data: rows.map((r) => presentMapping(ctx.state.organizationId, r)), has_more: false, next_cursor: null };
  });

  documented(router, {
    method: "post",
    path: "/v1/organizations/:org/scim/attribute-mappings/preview",
    tag: "Attribute mapping",
    summary: "Map a SCIM user with the current or a proposed mapping",
    body: previewBody,
    responses: { 200: { description: "The app fields and mapping errors.", schema: mappingPreview } },
  });
  router.post("/preview", async (ctx) => {
    const body = previewBody.parse(ctx.state.body ?? {});
    const mapping = body.mapping
      ? { version: null, compiled: compileOrExplain(body.mapping) }
      : await loadCurrentMapping(sequelize, ctx.state.organizationId);
    const user = canonicalizeResource("User", body.scim_user);
    const { fields, errors } = mapUser(mapping, user, previewTeamNames(body.scim_user));
    ctx.body = { object: "mapping_preview", mapping_version: mapping.version, proposed: body.mapping !== undefined, user: fields, errors };
  });

  return router;
}
