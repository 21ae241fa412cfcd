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


/** Organizations, enterprise connections, the SCIM endpoint and SCIM tokens. */
export function buildAdminRouter(deps: AppDeps): Router<OrgState> {
  const { models, config, clock, db } = deps;
  const router = new Router<OrgState>({ prefix: "/v1" });
  resolveOrgParam(router, models);

  router.post("/organizations", async (ctx) => {
    const body = createOrganizationBody.parse(ctx.state.body ?? {});
    ctx.status = 201;
    ctx.body = presentOrganization(await createOrganization(models, body));
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

  router.get("/organizations/:org", async (ctx) => {
    ctx.body = presentOrganization(await findOrganization(models, ctx.state.organizationId));
  });

  router.patch("/organizations/:org", async (ctx) => {
    const body = updateOrganizationBody.parse(ctx.state.body ?? {});
    const updated = await updateOrganization(models, ctx.state.organizationId, body, clock.now());
    // The trigger tells every process; this one forgets at once so its very next request sees it.
    deps.tenantCache.forgetOrganization(ctx.state.organizationId);
    ctx.body = presentOrganization(updated);
  });

  router.post("/organizations/:org/enterprise_connections", async (ctx) => {
    const body = createConnectionBody.parse(ctx.state.body ?? {});
    ctx.status = 201;
    ctx.body = presentConnection(await createConnection(models, { organizationId: ctx.state.organizationId, ...body }));
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

  router.get("/organizations/:org/scim/endpoint", async (ctx) => {
    ctx.body = { endpoint_url: `${config.publicUrl}/scim/v2/` };
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

  router.get("/organizations/:org/scim/tokens", async (ctx) => {
    const { limit, after } = listQuery.parse(ctx.query);
    const rows = await models.ScimToken.findAll({
      where: { organization_id: ctx.state.organizationId, ...(after ? { id: { [Op.gt]: after } } : {}) },
      order: [["id", "ASC"]],
      limit: limit + 1,
    });
    ctx.body = presentList(rows.map((r) => presentScimToken(r.get({ plain: true }))), limit);
  });

  router.delete("/organizations/:org/scim/tokens/:id", async (ctx) => {
    const revoked = await revokeScimToken(models, ctx.state.organizationId, ctx.params.id!, clock.now());
    deps.tenantCache.forgetOrganization(ctx.state.organizationId);
    ctx.body = presentScimToken(revoked);
  });

  return router;
}
