import type Router from "@koa/router";
import type { AppDeps } from "../../deps.ts";
import { NotFoundError } from "../../errors.ts";
import { issueScimToken, revokeScimToken } from "../../commands/scimTokens.ts";
import { createScimTokenBody } from "../../admin/schemas.ts";
import { connectionHealth, listScimTokens } from "../../models/portalReadModel.ts";
import { endPortalSession } from "../../models/portalSessionStore.ts";
import type { PortalState } from "../context.ts";
import { auditPortalAction } from "../audit.ts";
import { clearedSessionCookie } from "../cookies.ts";
import { html } from "../html.ts";
import { renderPage, seeOther } from "../render.ts";
import { barePage } from "../views/layout.ts";
import { guideView, setupView } from "../views/setupView.ts";
import { findGuide } from "../views/guides.ts";
import { healthView } from "../views/healthView.ts";

/** Setup (endpoint, tokens, guides), connection health, sign-out. */
export function setupRoutes(router: Router<PortalState>, deps: AppDeps): void {
  const { sequelize } = deps.db;
  const endpointUrl = `${deps.config.publicUrl}/scim/v2/`;
  const tokensOf = (ctx: { state: PortalState }) => listScimTokens(sequelize, ctx.state.portal.organizationId);

  router.get("/", (ctx) => seeOther(ctx, "/portal/setup"));

  router.get("/setup", async (ctx) => {
    renderPage(ctx, "/portal/setup", "Setup", setupView({ session: ctx.state.portal, endpointUrl, tokens: await tokensOf(ctx) }));
  });

  router.post("/tokens", async (ctx) => {
    const parsed = createScimTokenBody.pick({ name: true }).safeParse({ name: ctx.state.form.name ?? "" });
    if (!parsed.success) {
      const labelError = `Token label ${parsed.error.issues[0]?.message ?? "is not valid"}.`;
      renderPage(ctx, "/portal/setup", "Setup", setupView({ session: ctx.state.portal, endpointUrl, tokens: await tokensOf(ctx), labelError }), 400);
      return;
    }
    const session = ctx.state.portal;
    const { row, token } = await issueScimToken(sequelize, deps.models, { organizationId: session.organizationId, name: parsed.data.name });
    await auditPortalAction(sequelize, session, { action: "scim_token.issued", subjectType: "scim_token", subjectId: row.id, changes: { name: row.name, prefix: row.prefix } }, deps.clock.now());
    renderPage(ctx, "/portal/setup", "Setup", setupView({ session, endpointUrl, tokens: await tokensOf(ctx), issued: { name: row.name, token } }));
  });

  router.post("/tokens/:id/revoke", async (ctx) => {
    const session = ctx.state.portal;
    const revoked = await revokeScimToken(deps.models, session.organizationId, ctx.params.id!, deps.clock.now());
    deps.tenantCache.forgetOrganization(session.organizationId);
    await auditPortalAction(sequelize, session, { action: "scim_token.revoked", subjectType: "scim_token", subjectId: revoked.id }, deps.clock.now());
    seeOther(ctx, "/portal/setup?notice=token_revoked");
  });

  router.get("/guides/:idp", async (ctx) => {
    const guide = findGuide(ctx.params.idp!);
    if (!guide) throw new NotFoundError("Guide", ctx.params.idp);
    renderPage(ctx, "/portal/setup", `Set up ${guide.name}`, guideView(guide, endpointUrl));
  });

  router.get("/health", async (ctx) => {
    const organizationId = ctx.state.portal.organizationId;
    const [health, tokens] = await Promise.all([connectionHealth(sequelize, organizationId, deps.clock.now()), tokensOf(ctx)]);
    renderPage(ctx, "/portal/health", "Connection health", healthView({ health, tokens }));
  });

  router.post("/sign-out", async (ctx) => {
    await endPortalSession(sequelize, ctx.state.portal.id, deps.clock.now());
    ctx.set("Set-Cookie", clearedSessionCookie({ secure: deps.config.env === "production" }));
    ctx.type = "text/html; charset=utf-8";
    ctx.body = barePage({ title: "Signed out", body: html`<p>You are signed out of the portal. Open a new portal link from your application to come back.</p>` }).value;
  });
}
