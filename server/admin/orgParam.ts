import type Router from "@koa/router";
import type { Models } from "../models/index.ts";
import { findOrganization } from "../commands/organizations.ts";
import type { AppState } from "../context.ts";

/** State of admin routes under /v1/organizations/:org: the resolved organization id. */
export type OrgState = AppState & { organizationId: string };

/** Resolves `:org` (id or slug) to an organization, or 404, before any nested route runs. */
export function resolveOrgParam(router: Router<OrgState>, models: Models): void {
  router.param("org", async (idOrSlug, ctx, next) => {
    ctx.state.organizationId = (await findOrganization(models, idOrSlug)).id;
    return next();
  });
}
