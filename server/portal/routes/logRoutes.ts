import type Router from "@koa/router";
import type { AppDeps } from "../../deps.ts";
import { requestLogPage, type RequestLogFilter } from "../../models/portalReadModel.ts";
import type { PortalContext, PortalState } from "../context.ts";
import { queryString, renderPage } from "../render.ts";
import { logRows, logView, RESOURCE_FILTERS, STATUS_FILTERS, type ResourceFilter, type StatusFilter } from "../views/logView.ts";

const STATUS_RANGES: Record<StatusFilter, [number, number] | undefined> = {
  all: undefined, success: [100, 399], errors: [400, 599], client: [400, 499], server: [500, 599],
};
const RESOURCE_PATTERNS: Record<ResourceFilter, string | undefined> = {
  all: undefined,
  Users: String.raw`^/scim/v2/Users([/?.]|$)`,
  Groups: String.raw`^/scim/v2/Groups([/?.]|$)`,
  discovery: String.raw`^/scim/v2/(ServiceProviderConfig|ResourceTypes|Schemas)`,
};

function filtersOf(ctx: PortalContext): { status: StatusFilter; resource: ResourceFilter } {
  const status = queryString(ctx, "status");
  const resource = queryString(ctx, "resource");
  return {
    status: Object.hasOwn(STATUS_FILTERS, status) ? (status as StatusFilter) : "all",
    resource: Object.hasOwn(RESOURCE_FILTERS, resource) ? (resource as ResourceFilter) : "all",
  };
}

function pageFilter(filters: { status: StatusFilter; resource: ResourceFilter }, limit: number, newerThan?: string): RequestLogFilter {
  return { statusRange: STATUS_RANGES[filters.status], pathPattern: RESOURCE_PATTERNS[filters.resource], newerThan, limit };
}

/** The SCIM request log: a filtered page, and newer rows for the live-update script (polling). */
export function logRoutes(router: Router<PortalState>, deps: AppDeps): void {
  const { sequelize } = deps.db;

  router.get("/log", async (ctx) => {
    const filters = filtersOf(ctx);
    const rows = await requestLogPage(sequelize, ctx.state.portal.organizationId, pageFilter(filters, 100));
    renderPage(ctx, "/portal/log", "Request log", logView({ rows, ...filters }));
  });

  router.get("/log/rows", async (ctx) => {
    const after = queryString(ctx, "after");
    const rows = await requestLogPage(sequelize, ctx.state.portal.organizationId, pageFilter(filtersOf(ctx), 100, after || undefined));
    ctx.body = { html: logRows(rows).value, newest: rows[0]?.id ?? (after || null), count: rows.length };
  });
}
