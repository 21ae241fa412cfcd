import Router from "@koa/router";
import { z } from "zod";
import type { AppDeps } from "../deps.ts";
import { resolveOrgParam, type OrgState } from "../admin/orgParam.ts";
import { createPortalLink, DEFAULT_LINK_TTL_S, MAX_LINK_TTL_S } from "./sessions.ts";
import { documented } from "../admin/apiDocs.ts";
import { portalSession } from "../admin/responseSchemas.ts";

const createPortalSessionBody = z.strictObject({
  expires_in_s: z.number().int("must be a whole number of seconds").min(30, "must be at least 30").max(MAX_LINK_TTL_S, `must be at most ${MAX_LINK_TTL_S}`).optional(),
});

/** POST /v1/organizations/:org/portal_sessions: a one-time portal link the app's backend hands to the customer's admin. */
export function buildPortalAdminRouter(deps: AppDeps): Router<OrgState> {
  const router = new Router<OrgState>({ prefix: "/v1/organizations/:org" });
  resolveOrgParam(router, deps.models);

  documented(router, {
    method: "post",
    path: "/v1/organizations/:org/portal_sessions",
    tag: "Portal",
    summary: "Create a one-time portal link",
    body: createPortalSessionBody,
    responses: { 201: { description: "The link and when it expires.", schema: portalSession } },
  });
  router.post("/portal_sessions", async (ctx) => {
    const body = createPortalSessionBody.parse(ctx.state.body ?? {});
    const { row, url } = await createPortalLink(deps.db.sequelize, {
      organizationId: ctx.state.organizationId,
      publicUrl: deps.config.publicUrl,
      expiresInS: body.expires_in_s ?? DEFAULT_LINK_TTL_S,
    }, deps.clock.now());
    ctx.status = 201;
    ctx.body = { id: row.id, object: "portal_session", organization_id: row.organization_id, url, expires_at: row.link_expires_at.getTime() };
  });

  return router;
}
