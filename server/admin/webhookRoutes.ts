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
import { documented } from "./apiDocs.ts";
import { listOf, webhookDelivery, webhookEndpoint } from "./responseSchemas.ts";

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

  documented(router, {
    method: "post",
    path: "/v1/organizations/:org/webhook_endpoints",
    tag: "Webhooks",
    summary: "Create a webhook endpoint",
    body: createWebhookEndpointBody,
    responses: { 201: { description: "The endpoint, with its signing secret.", schema: webhookEndpoint } },
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

  documented(router, {
    method: "get",
    path: "/v1/organizations/:org/webhook_endpoints",
    tag: "Webhooks",
    summary: "List webhook endpoints",
    query: listQuery,
    responses: { 200: { description: "A page of endpoints (no secrets).", schema: listOf(webhookEndpoint) } },
  });
  router.get("/organizations/:org/webhook_endpoints", async (ctx) => {
    const { limit, after } = listQuery.parse(ctx.query);
    const rows = await listEndpoints(sequelize, ctx.state.organizationId, { limit: limit + 1, after });
    ctx.body = presentList(rows.map((row) => presentWebhookEndpoint(row, { withSecret: false })), limit);
  });

  documented(router, {
    method: "get",
    path: "/v1/organizations/:org/webhook_endpoints/:id",
    tag: "Webhooks",
    summary: "Get a webhook endpoint",
    params: { id: "The endpoint id (`whep_…`)." },
    responses: { 200: { description: "The endpoint (its secret is shown only on create and rotate).", schema: webhookEndpoint } },
  });
  router.get("/organizations/:org/webhook_endpoints/:id", async (ctx) => {
    const row = await findEndpoint(sequelize, ctx.state.organizationId, ctx.params.id!);
    ctx.body = presentWebhookEndpoint(row, { withSecret: false });
  });

  documented(router, {
    method: "patch",
    path: "/v1/organizations/:org/webhook_endpoints/:id",
    tag: "Webhooks",
    summary: "Change a webhook endpoint's url, events, enabled, format or SCIM events mode",
    params: { id: "The endpoint id (`whep_…`)." },
    body: updateWebhookEndpointBody,
    responses: { 200: { description: "The updated endpoint (no secret).", schema: webhookEndpoint } },
  });
  router.patch("/organizations/:org/webhook_endpoints/:id", async (ctx) => {
    const changes = updateWebhookEndpointBody.parse(ctx.state.body ?? {});
    const props = { organizationId: ctx.state.organizationId, id: ctx.params.id!, changes, allowPrivateUrls: config.webhooks.allowPrivateUrls, actor: ADMIN };
    ctx.body = presentWebhookEndpoint(await updateEndpoint(sequelize, props, clock.now()), { withSecret: false });
  });

  documented(router, {
    method: "post",
    path: "/v1/organizations/:org/webhook_endpoints/:id/rotate_secret",
    tag: "Webhooks",
    summary: "Rotate a webhook endpoint's signing secret",
    description: "Returns the new secret once. During the overlap both the previous and the new secret sign every delivery (several `v1,` signatures).",
    params: { id: "The endpoint id (`whep_…`)." },
    body: rotateWebhookSecretBody,
    responses: { 200: { description: "The endpoint with its new secret (shown only here and on create).", schema: webhookEndpoint } },
  });
  router.post("/organizations/:org/webhook_endpoints/:id/rotate_secret", async (ctx) => {
    const body = rotateWebhookSecretBody.parse(ctx.state.body ?? {});
    const overlapMs = body.overlap_seconds === undefined ? config.webhooks.secretOverlapMs : body.overlap_seconds * 1000;
    const row = await rotateEndpointSecret(sequelize, { organizationId: ctx.state.organizationId, id: ctx.params.id!, overlapMs, actor: ADMIN }, clock.now());
    ctx.body = presentWebhookEndpoint(row, { withSecret: true });
  });

  documented(router, {
    method: "delete",
    path: "/v1/organizations/:org/webhook_endpoints/:id",
    tag: "Webhooks",
    summary: "Delete a webhook endpoint",
    params: { id: "The endpoint id (`whep_…`)." },
    responses: { 200: { description: "The deleted endpoint.", schema: webhookEndpoint } },
  });
  router.delete("/organizations/:org/webhook_endpoints/:id", async (ctx) => {
    const row = await deleteEndpoint(sequelize, ctx.state.organizationId, ctx.params.id!, clock.now());
    ctx.body = presentWebhookEndpoint(row, { withSecret: false });
  });

  documented(router, {
    method: "get",
    path: "/v1/organizations/:org/webhook_deliveries",
    tag: "Webhooks",
    summary: "List webhook deliveries, newest first",
    query: webhookDeliveriesQuery,
    responses: { 200: { description: "A page of deliveries with their attempts.", schema: listOf(webhookDelivery) } },
  });
  router.get("/organizations/:org/webhook_deliveries", async (ctx) => {
    const { limit, after, status, endpoint_id } = webhookDeliveriesQuery.parse(ctx.query);
    const rows = await listDeliveries(sequelize, ctx.state.organizationId, { status, endpointId: endpoint_id, after, limit: limit + 1 });
    ctx.body = presentList(rows.map(presentWebhookDelivery), limit);
  });

  documented(router, {
    method: "get",
    path: "/v1/organizations/:org/webhook_deliveries/:id",
    tag: "Webhooks",
    summary: "Get a webhook delivery",
    params: { id: "The delivery id (`whdl_…`)." },
    responses: { 200: { description: "The delivery with its attempts.", schema: webhookDelivery } },
  });
  router.get("/organizations/:org/webhook_deliveries/:id", async (ctx) => {
    ctx.body = presentWebhookDelivery(await findDelivery(sequelize, ctx.state.organizationId, ctx.params.id!));
  });

  documented(router, {
    method: "post",
    path: "/v1/organizations/:org/webhook_deliveries/:id/retry",
    tag: "Webhooks",
    summary: "Retry a failed delivery now",
    params: { id: "The delivery id (`whdl_…`)." },
    responses: { 200: { description: "The delivery, pending again.", schema: webhookDelivery } },
  });
  router.post("/organizations/:org/webhook_deliveries/:id/retry", async (ctx) => {
    ctx.body = presentWebhookDelivery(await retryDelivery(sequelize, ctx.state.organizationId, ctx.params.id!, clock.now()));
  });

  return router;
}
