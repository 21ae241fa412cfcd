import Router from "@koa/router";
import type { AppState } from "../context.ts";
import type { AppDeps } from "../deps.ts";
import { findOrganization } from "../commands/organizations.ts";
import { createEndpoint, deleteEndpoint, findEndpoint, listEndpoints, rotateEndpointSecret, updateEndpoint } from "../webhooks/endpoints.ts";
import { findDelivery, listDeliveries, retryDelivery } from "../webhooks/deliveries.ts";
import { listQuery } from "./schemas.ts";
import { createWebhookEndpointBody, rotateWebhookSecretBody, updateWebhookEndpointBody, webhookDeliveriesQuery } from "./webhookSchemas.ts";
import { presentList } from "./presenters.ts";
import { presentWebhookDelivery, presentWebhookEndpoint } from "./webhookPresenters.ts";

type AdminState = AppState & { organizationId: string };

/** Changes made through the admin API are audited as the admin's (the admin key names no one). */
const ADMIN = { type: "admin", id: null } as const;

/** Webhook endpoints and the delivery log of an organization (mounted under the admin-authenticated /v1). */
export function buildWebhookRouter(deps: AppDeps): Router<AdminState> {
  const { models, config, clock } = deps;
  const sequelize = deps.db.sequelize;
  const router = new Router<AdminState>({ prefix: "/v1" });

  router.param("org", async (idOrSlug, ctx, next) => {
    ctx.state.organizationId = (await findOrganization(models, idOrSlug)).id;
    return next();
  });

  router.post("/organizations/:org/webhook_endpoints", async (ctx) => {
    const body = createWebhookEndpointBody.parse(ctx.state.body ?? {});
    const row = await createEndpoint(
      sequelize,
      {
        organizationId: ctx.state.organizationId,
        url: body.url,
        events: body.events,
        format: body.format,
        scimEventsMode: body.scim_events_mode,
        allowPrivateUrls: config.webhooks.allowPrivateUrls,
      },
      clock.now(),
    );
    ctx.status = 201;
    ctx.body = presentWebhookEndpoint(row, { withSecret: true });
  });

  router.get("/organizations/:org/webhook_endpoints", async (ctx) => {
    const { limit, after } = listQuery.parse(ctx.query);
    const rows = await listEndpoints(sequelize, ctx.state.organizationId, { limit: limit + 1, after });
    ctx.body = presentList(rows.map((row) => presentWebhookEndpoint(row, { withSecret: false })), limit);
  });

  router.get("/organizations/:org/webhook_endpoints/:id", async (ctx) => {
    const row = await findEndpoint(sequelize, ctx.state.organizationId, ctx.params.id!);
    ctx.body = presentWebhookEndpoint(row, { withSecret: false });
  });

  router.patch("/organizations/:org/webhook_endpoints/:id", async (ctx) => {
    const changes = updateWebhookEndpointBody.parse(ctx.state.body ?? {});
    const props = { organizationId: ctx.state.organizationId, id: ctx.params.id!, changes, allowPrivateUrls: config.webhooks.allowPrivateUrls, actor: ADMIN };
    ctx.body = presentWebhookEndpoint(await updateEndpoint(sequelize, props, clock.now()), { withSecret: false });
  });

  router.post("/organizations/:org/webhook_endpoints/:id/rotate_secret", async (ctx) => {
    const body = rotateWebhookSecretBody.parse(ctx.state.body ?? {});
    const overlapMs = body.overlap_seconds === undefined ? config.webhooks.secretOverlapMs : body.overlap_seconds * 1000;
    const row = await rotateEndpointSecret(sequelize, { organizationId: ctx.state.organizationId, id: ctx.params.id!, overlapMs, actor: ADMIN }, clock.now());
    ctx.body = presentWebhookEndpoint(row, { withSecret: true });
  });

  router.delete("/organizations/:org/webhook_endpoints/:id", async (ctx) => {
    const row = await deleteEndpoint(sequelize, ctx.state.organizationId, ctx.params.id!, clock.now());
    ctx.body = presentWebhookEndpoint(row, { withSecret: false });
  });

  router.get("/organizations/:org/webhook_deliveries", async (ctx) => {
    const { limit, after, status, endpoint_id } = webhookDeliveriesQuery.parse(ctx.query);
    const rows = await listDeliveries(sequelize, ctx.state.organizationId, { status, endpointId: endpoint_id, after, limit: limit + 1 });
    ctx.body = presentList(rows.map(presentWebhookDelivery), limit);
  });

  router.get("/organizations/:org/webhook_deliveries/:id", async (ctx) => {
    ctx.body = presentWebhookDelivery(await findDelivery(sequelize, ctx.state.organizationId, ctx.params.id!));
  });

  router.post("/organizations/:org/webhook_deliveries/:id/retry", async (ctx) => {
    ctx.body = presentWebhookDelivery(await retryDelivery(sequelize, ctx.state.organizationId, ctx.params.id!, clock.now()));
  });

  return router;
}
