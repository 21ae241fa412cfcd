import Router from "@koa/router";
import type { AppDeps } from "../deps.ts";
import { NotFoundError } from "../errors.ts";
import { resolveOrgParam, type OrgState } from "./orgParam.ts";
import { directoryBody } from "../../reconciler/directory/settings.ts";
import { deleteDirectory, findDirectory } from "../../reconciler/directory/directoryStore.ts";
import { saveDirectory } from "../../reconciler/directory/saveDirectory.ts";
import { presentDirectory } from "../../reconciler/directory/presenter.ts";
import { connectDirectory, testDirectory } from "../../reconciler/directory/connect.ts";
import { UnsupportedProviderError } from "../../reconciler/directory/connectors/index.ts";
import { documented } from "./apiDocs.ts";
import { deletedDirectoryConnection, directoryConnection, directoryTest } from "./responseSchemas.ts";

/** An enterprise connection's directory (read-only access to its IdP's API): store, read, remove, test. */
export function buildDirectoryRouter(deps: AppDeps): Router<OrgState> {
  const router = new Router<OrgState>({ prefix: "/v1/organizations/:org/enterprise_connections/:id/directory" });
  resolveOrgParam(router, deps.models);
  const { sequelize } = deps.db;

  const connectionOf = async (organizationId: string, id: string) => {
    const row = await deps.models.EnterpriseConnection.findOne({ where: { id, organization_id: organizationId } });
    if (!row) throw new NotFoundError("Enterprise connection", id);
    return row.get({ plain: true });
  };
  const storedOf = async (organizationId: string, id: string) => {
    await connectionOf(organizationId, id);
    const row = await findDirectory(sequelize, organizationId, id);
    if (!row) throw new NotFoundError("Directory connection", id);
    return row;
  };

  documented(router, {
    method: "put",
    path: "/v1/organizations/:org/enterprise_connections/:id/directory",
    tag: "Directories",
    summary: "Store the connection's directory (IdP API access)",
    params: { id: "The enterprise connection id (`conn_…`)." },
    body: directoryBody,
    responses: { 200: { description: "The stored directory (no secrets).", schema: directoryConnection } },
  });
  router.put("/", async (ctx) => {
    const body = directoryBody.parse(ctx.state.body ?? {});
    const connection = await connectionOf(ctx.state.organizationId, ctx.params.id!);
    const row = await saveDirectory(sequelize, ctx.state.organizationId, connection.id, body, deps.clock.now());
    ctx.body = presentDirectory(row);
  });

  documented(router, {
    method: "get",
    path: "/v1/organizations/:org/enterprise_connections/:id/directory",
    tag: "Directories",
    summary: "Get the connection's directory",
    params: { id: "The enterprise connection id (`conn_…`)." },
    responses: { 200: { description: "The stored directory (no secrets).", schema: directoryConnection } },
  });
  router.get("/", async (ctx) => {
    ctx.body = presentDirectory(await storedOf(ctx.state.organizationId, ctx.params.id!));
  });

  documented(router, {
    method: "delete",
    path: "/v1/organizations/:org/enterprise_connections/:id/directory",
    tag: "Directories",
    summary: "Remove the connection's directory",
    params: { id: "The enterprise connection id (`conn_…`)." },
    responses: { 200: { description: "The removed directory.", schema: deletedDirectoryConnection } },
  });
  router.delete("/", async (ctx) => {
    await connectionOf(ctx.state.organizationId, ctx.params.id!);
    const row = await deleteDirectory(sequelize, ctx.state.organizationId, ctx.params.id!);
    if (!row) throw new NotFoundError("Directory connection", ctx.params.id);
    ctx.body = { ...presentDirectory(row), deleted: true };
  });

  documented(router, {
    method: "post",
    path: "/v1/organizations/:org/enterprise_connections/:id/directory/test",
    tag: "Directories",
    summary: "Test the stored credentials against the IdP",
    params: { id: "The enterprise connection id (`conn_…`)." },
    responses: { 200: { description: "Whether the IdP answered, with counts.", schema: directoryTest } },
  });
  router.post("/test", async (ctx) => {
    const row = await storedOf(ctx.state.organizationId, ctx.params.id!);
    try {
      const connector = connectDirectory(sequelize, row, { metrics: deps.metrics, timeoutMs: deps.config.directory.timeoutMs, rateLimitShare: deps.config.directory.rateLimitShare });
      ctx.body = await testDirectory(connector);
    } catch (error) {
      if (!(error instanceof UnsupportedProviderError)) throw error;
      ctx.body = { ok: false, detail: error.message, users: 0, groups: 0 };
    }
  });

  return router;
}
