import Router from "@koa/router";
import { resolveOrgParam, type OrgState } from "./orgParam.ts";
import type { AppDeps } from "../deps.ts";
import { createOrganization, findOrganization, updateOrganization } from "../commands/organizations.ts";
import { createConnection } from "../commands/enterpriseConnections.ts";
import { issueScimToken, revokeScimToken } from "../commands/scimTokens.ts";
import {
  createConnectionBody,
  createOrganizationBody,
  createScimTokenBody,
  listQuery,
  updateOrganizationBody,
} from "./schemas.ts";
import { presentConnection, presentList, presentOrganization, presentScimToken } from "./presenters.ts";
import { Op } from "sequelize";
import { documented } from "./apiDocs.ts";
import { createdScimToken, enterpriseConnection, listOf, organization, scimEndpoint, scimToken } from "./responseSchemas.ts";


/** Organizations, enterprise connections, the SCIM endpoint and SCIM tokens. */
export function buildAdminRouter(deps: AppDeps): Router<OrgState> {
  const { models, config, clock, db } = deps;
  const router = new Router<OrgState>({ prefix: "/v1" });
  resolveOrgParam(router, models);

  documented(router, {
    method: "post",
    path: "/v1/organizations",
    tag: "Organizations",
    summary: "Create an organization",
    body: createOrganizationBody,
    responses: { 201: { description: "The new organization.", schema: organization } },
  });
  router.post("/organizations", async (ctx) => {
    const body = createOrganizationBody.parse(ctx.state.body ?? {});
    ctx.status = 201;
    ctx.body = presentOrganization(await createOrganization(models, body));
  });

  documented(router, {
    method: "get",
    path: "/v1/organizations",
    tag: "Organizations",
    summary: "List organizations",
    query: listQuery,
    responses: { 200: { description: "A page of organizations, oldest first.", schema: listOf(organization) } },
  });
  router.get("/organizations", async (ctx) => {
    const { limit, after } = listQuery.parse(ctx.query);
    const rows = await models.Organization.findAll({
      where: after ? { id: { [Op.gt]: after } } : {},
      order: [["id", "ASC"]],
      limit: limit + 1,
    });
    ctx.body = presentList(rows.map((r) => presentOrganization(r.get({ plain: true }))), limit);
  });

  documented(router, {
    method: "get",
    path: "/v1/organizations/:org",
    tag: "Organizations",
    summary: "Get an organization",
    responses: { 200: { description: "The organization.", schema: organization } },
  });
  router.get("/organizations/:org", async (ctx) => {
    ctx.body = presentOrganization(await findOrganization(models, ctx.state.organizationId));
  });

  documented(router, {
    method: "patch",
    path: "/v1/organizations/:org",
    tag: "Organizations",
    summary: "Rename an organization or set its SCIM rate limit",
    body: updateOrganizationBody,
    responses: { 200: { description: "The updated organization.", schema: organization } },
  });
  router.patch("/organizations/:org", async (ctx) => {
    const body = updateOrganizationBody.parse(ctx.state.body ?? {});
    const updated = await updateOrganization(models, ctx.state.organizationId, body, clock.now());
    // The trigger tells every process; this one forgets at once so its very next request sees it.
    deps.tenantCache.forgetOrganization(ctx.state.organizationId);
    ctx.body = presentOrganization(updated);
  });

  documented(router, {
    method: "post",
    path: "/v1/organizations/:org/enterprise_connections",
    tag: "Enterprise connections",
    summary: "Create an enterprise connection",
    body: createConnectionBody,
    responses: { 201: { description: "The new connection.", schema: enterpriseConnection } },
  });
  router.post("/organizations/:org/enterprise_connections", async (ctx) => {
    const body = createConnectionBody.parse(ctx.state.body ?? {});
    ctx.status = 201;
    ctx.body = presentConnection(await createConnection(models, { organizationId: ctx.state.organizationId, ...body }));
  });

  documented(router, {
    method: "get",
    path: "/v1/organizations/:org/enterprise_connections",
    tag: "Enterprise connections",
    summary: "List enterprise connections",
    query: listQuery,
    responses: { 200: { description: "A page of connections.", schema: listOf(enterpriseConnection) } },
  });
  router.get("/organizations/:org/enterprise_connections", async (ctx) => {
    const { limit, after } = listQuery.parse(ctx.query);
    const rows = await models.EnterpriseConnection.findAll({
      where: { organization_id: ctx.state.organizationId, ...(after ? { id: { [Op.gt]: after } } : {}) },
      order: [["id", "ASC"]],
      limit: limit + 1,
    });
    ctx.body = presentList(rows.map((r) => presentConnection(r.get({ plain: true }))), limit);
  });

  documented(router, {
    method: "get",
    path: "/v1/organizations/:org/scim/endpoint",
    tag: "SCIM tokens",
    summary: "The SCIM base URL to give the IdP",
    responses: { 200: { description: "The SCIM 2.0 base URL.", schema: scimEndpoint } },
  });
  router.get("/organizations/:org/scim/endpoint", async (ctx) => {
    ctx.body = { endpoint_url: `${config.publicUrl}/scim/v2/` };
  });

  documented(router, {
    method: "post",
    path: "/v1/organizations/:org/scim/tokens",
    tag: "SCIM tokens",
    summary: "Issue a SCIM bearer token",
    body: createScimTokenBody,
    responses: { 201: { description: "The token, with its secret shown only here.", schema: createdScimToken } },
  });
  router.post("/organizations/:org/scim/tokens", async (ctx) => {
    const body = createScimTokenBody.parse(ctx.state.body ?? {});
    const { row, token } = await issueScimToken(db.sequelize, models, {
      organizationId: ctx.state.organizationId,
      name: body.name,
      enterpriseConnectionId: body.enterprise_connection_id,
    });
    ctx.status = 201;
    ctx.body = { ...presentScimToken(row), token };
  });

  documented(router, {
    method: "get",
    path: "/v1/organizations/:org/scim/tokens",
    tag: "SCIM tokens",
    summary: "List SCIM tokens (without secrets)",
    query: listQuery,
    responses: { 200: { description: "A page of tokens.", schema: listOf(scimToken) } },
  });
  router.get("/organizations/:org/scim/tokens", async (ctx) => {
    const { limit, after } = listQuery.parse(ctx.query);
    const rows = await models.ScimToken.findAll({
      where: { organization_id: ctx.state.organizationId, ...(after ? { id: { [Op.gt]: after } } : {}) },
      order: [["id", "ASC"]],
      limit: limit + 1,
    });
    ctx.body = presentList(rows.map((r) => presentScimToken(r.get({ plain: true }))), limit);
  });

  documented(router, {
    method: "delete",
    path: "/v1/organizations/:org/scim/tokens/:id",
    tag: "SCIM tokens",
    summary: "Revoke a SCIM token",
    params: { id: "The token id (`scimt_…`)." },
    responses: { 200: { description: "The revoked token.", schema: scimToken } },
  });
  router.delete("/organizations/:org/scim/tokens/:id", async (ctx) => {
    const revoked = await revokeScimToken(models, ctx.state.organizationId, ctx.params.id!, clock.now());
    deps.tenantCache.forgetOrganization(ctx.state.organizationId);
    ctx.body = presentScimToken(revoked);
  });

  return router;
}
