import Router from "@koa/router";
import type { AppDeps } from "../deps.ts";
import { readEventFeed } from "../commands/eventFeed.ts";
import { eventsQuery } from "./eventSchemas.ts";
import { presentEventPage } from "./eventPresenters.ts";
import { resolveOrgParam, type OrgState } from "./orgParam.ts";

/** The Events API: an organization's webhook events, read by cursor (README "Events API"). */
export function buildEventRouter(deps: AppDeps): Router<OrgState> {
  const router = new Router<OrgState>({ prefix: "/v1/organizations/:org" });
  resolveOrgParam(router, deps.models);

  router.get("/events", async (ctx) => {
    const query = eventsQuery.parse(ctx.query);
    ctx.body = presentEventPage(await readEventFeed(deps.db.sequelize, ctx.state.organizationId, query));
  });

  return router;
}
