import type Router from "@koa/router";
import type { AppDeps } from "../../deps.ts";
import { AppError } from "../../errors.ts";
import { createWebhookEndpointBody } from "../../admin/webhookSchemas.ts";
import { createEndpoint, deleteEndpoint, listEndpoints, type WebhookEndpointRow } from "../../webhooks/endpoints.ts";
import { listDeliveries, retryDelivery } from "../../webhooks/deliveries.ts";
import { WEBHOOK_EVENT_TYPES } from "../../webhooks/outbox.ts";
import type { PortalContext, PortalState } from "../context.ts";
import { auditPortalAction } from "../audit.ts";
import { queryString, renderPage, seeOther } from "../render.ts";
import { DELIVERY_FILTERS, webhooksView, type DeliveryFilter } from "../views/webhooksView.ts";

/** Webhook endpoints (create with the secret shown once, delete) and deliveries with Retry. */
export function webhookRoutes(router: Router<PortalState>, deps: AppDeps): void {
  const { sequelize } = deps.db;

  async function page(ctx: PortalContext, extra: { created?: WebhookEndpointRow; urlError?: string; retryError?: string; status?: number } = {}) {
    const organizationId = ctx.state.portal.organizationId;
    const requested = queryString(ctx, "status");
    const filter: DeliveryFilter = Object.hasOwn(DELIVERY_FILTERS, requested) ? (requested as DeliveryFilter) : "all";
    const [endpoints, deliveries] = await Promise.all([
      listEndpoints(sequelize, organizationId, { limit: 200 }),
      listDeliveries(sequelize, organizationId, { status: filter === "all" ? undefined : filter, limit: 100 }),
    ]);
    renderPage(ctx, "/portal/webhooks", "Webhooks", webhooksView({ session: ctx.state.portal, endpoints, deliveries, filter, ...extra }), extra.status);
  }

  router.get("/webhooks", (ctx) => page(ctx));

  router.post("/webhooks", async (ctx) => {
    const session = ctx.state.portal;
    const events = WEBHOOK_EVENT_TYPES.filter((t) => ctx.state.form[`event:${t}`] === "on");
    const parsed = createWebhookEndpointBody.safeParse({ url: ctx.state.form.url ?? "", events });
    if (!parsed.success) {
      await page(ctx, { urlError: `Endpoint URL ${parsed.error.issues[0]?.message ?? "is not valid"}.`, status: 400 });
      return;
    }
    let created: WebhookEndpointRow;
    try {
      created = await createEndpoint(sequelize, {
        organizationId: session.organizationId, url: parsed.data.url, events: parsed.data.events, allowPrivateUrls: deps.config.webhooks.allowPrivateUrls,
      }, deps.clock.now());
    } catch (error) {
      if (error instanceof AppError && error.status === 400) return page(ctx, { urlError: error.message, status: 400 });
      throw error;
    }
    await auditPortalAction(sequelize, session, { action: "webhook_endpoint.created", subjectType: "webhook_endpoint", subjectId: created.id, changes: { url: created.url } }, deps.clock.now());
    await page(ctx, { created });
  });

  router.post("/webhooks/:id/delete", async (ctx) => {
    const session = ctx.state.portal;
    const deleted = await deleteEndpoint(sequelize, session.organizationId, ctx.params.id!, deps.clock.now());
    await auditPortalAction(sequelize, session, { action: "webhook_endpoint.deleted", subjectType: "webhook_endpoint", subjectId: deleted.id }, deps.clock.now());
    seeOther(ctx, "/portal/webhooks?notice=endpoint_deleted");
  });

  router.post("/webhooks/deliveries/:id/retry", async (ctx) => {
    const session = ctx.state.portal;
    try {
      const delivery = await retryDelivery(sequelize, session.organizationId, ctx.params.id!, deps.clock.now());
      await auditPortalAction(sequelize, session, { action: "webhook_delivery.retried", subjectType: "webhook_delivery", subjectId: delivery.id }, deps.clock.now());
    } catch (error) {
      if (error instanceof AppError && error.status === 409) return page(ctx, { retryError: error.message, status: 409 });
      throw error;
    }
    seeOther(ctx, "/portal/webhooks?notice=delivery_retried");
  });
}
