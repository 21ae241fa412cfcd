import type Router from "@koa/router";
import type { AppDeps } from "../../deps.ts";
import { NotFoundError } from "../../errors.ts";
import { deleteDirectory, findDirectory } from "../../../reconciler/directory/directoryStore.ts";
import { saveDirectory } from "../../../reconciler/directory/saveDirectory.ts";
import { connectDirectory, testDirectory } from "../../../reconciler/directory/connect.ts";
import { UnsupportedProviderError } from "../../../reconciler/directory/connectors/index.ts";
import type { PortalContext, PortalState } from "../context.ts";
import { auditPortalAction } from "../audit.ts";
import { connectionDirectories, connectionOfOrganization } from "../directoryConnections.ts";
import { parseDirectoryForm } from "../directoryForm.ts";
import { renderPage, seeOther } from "../render.ts";
import { directoryView, type DirectoryFeedback, type DirectoryTestResult } from "../views/directoryView.ts";

/**
 * Directory connections per enterprise connection: set up (the admin API's PUT body, from a form),
 * Test connection, Delete. The same store and connector functions as the admin directory routes;
 * every lookup is scoped to the session's organization.
 */
export function directoryRoutes(router: Router<PortalState>, deps: AppDeps): void {
  const { sequelize } = deps.db;

  async function page(ctx: PortalContext, feedback?: DirectoryFeedback, status = 200) {
    const entries = await connectionDirectories(sequelize, deps.models, ctx.state.portal.organizationId);
    renderPage(ctx, "/portal/directory", "Directory connection", directoryView({ session: ctx.state.portal, entries, feedback }), status);
  }

  router.get("/directory", (ctx) => page(ctx));

  router.post("/directory/:id", async (ctx) => {
    const session = ctx.state.portal;
    const connection = await connectionOfOrganization(deps.models, session.organizationId, ctx.params.id!);
    const current = await findDirectory(sequelize, session.organizationId, connection.id);
    const parsed = parseDirectoryForm(ctx.state.form, current);
    if (!parsed.ok) return page(ctx, { connectionId: connection.id, errors: parsed.errors }, 400);
    const body = parsed.body;
    const row = await saveDirectory(sequelize, session.organizationId, connection.id, body, deps.clock.now());
    // Only what is not secret goes into the audit row.
    await auditPortalAction(sequelize, session, {
      action: "directory.configured", subjectType: "directory_connection", subjectId: row.id,
      changes: { enterprise_connection_id: connection.id, provider: row.provider, settings: row.settings, credentials: { ...row.public_credentials, configured: true } },
    }, deps.clock.now());
    seeOther(ctx, "/portal/directory?notice=directory_saved");
  });

  router.post("/directory/:id/test", async (ctx) => {
    const session = ctx.state.portal;
    const connection = await connectionOfOrganization(deps.models, session.organizationId, ctx.params.id!);
    const row = await findDirectory(sequelize, session.organizationId, connection.id);
    if (!row) throw new NotFoundError("Directory connection", connection.id);
    let test: DirectoryTestResult;
    try {
      const connector = connectDirectory(sequelize, row, { metrics: deps.metrics, timeoutMs: deps.config.directory.timeoutMs, rateLimitShare: deps.config.directory.rateLimitShare });
      test = await testDirectory(connector);
    } catch (error) {
      if (!(error instanceof UnsupportedProviderError)) throw error;
      test = { ok: false, detail: error.message, users: 0, groups: 0 };
    }
    await auditPortalAction(sequelize, session, {
      action: "directory.tested", subjectType: "directory_connection", subjectId: row.id, changes: { ok: test.ok, users: test.users, groups: test.groups },
    }, deps.clock.now());
    await page(ctx, { connectionId: connection.id, test });
  });

  router.post("/directory/:id/delete", async (ctx) => {
    const session = ctx.state.portal;
    const connection = await connectionOfOrganization(deps.models, session.organizationId, ctx.params.id!);
    const row = await deleteDirectory(sequelize, session.organizationId, connection.id);
    if (!row) throw new NotFoundError("Directory connection", connection.id);
    await auditPortalAction(sequelize, session, {
      action: "directory.deleted", subjectType: "directory_connection", subjectId: row.id, changes: { enterprise_connection_id: connection.id, provider: row.provider },
    }, deps.clock.now());
    seeOther(ctx, "/portal/directory?notice=directory_deleted");
  });
}
