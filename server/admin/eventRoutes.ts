import Router from "@koa/router";
import type { AppDeps } from "../deps.ts";
import { readEventFeed } from "../commands/eventFeed.ts";
import { eventsQuery } from "./eventSchemas.ts";
import { presentEventPage } from "./eventPresenters.ts";
import { resolveOrgParam, type OrgState } from "./orgParam.ts";
import { documented } from "./apiDocs.ts";
import { eventPage } from "./responseSchemas.ts";

/** The Events API: an organization's webhook events, read by cursor (README "Events API"). */
export function buildEventRouter(deps: AppDeps): Router<OrgState> {
  const router = new Router<OrgState>({ prefix: "/v1/organizations/:org" });
  resolveOrgParam(router, deps.models);

  documented(router, {
    method: "get",
    path: "/v1/organizations/:org/events",
    tag: "Events",
    summary: "List the organization's events by cursor, in commit order",
    description:
      "Every event once, in stream order, even while writes commit concurrently: an event becomes visible only when no transaction that could still add an earlier one is running. The ids are the `webhook-id` of the webhooks. Kept ROLLCALL_EVENT_RETENTION_DAYS.",
    query: eventsQuery,
    responses: { 200: { description: "A page of events and the cursor to continue from.", schema: eventPage } },
  });
  router.get("/events", async (ctx) => {
    const query = eventsQuery.parse(ctx.query);
    ctx.body = presentEventPage(await readEventFeed(deps.db.sequelize, ctx.state.organizationId, query));
  });

  return router;
}
