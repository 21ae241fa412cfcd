import { html, timeTag, type SafeHtml } from "../html.ts";
import type { PortalSession } from "../context.ts";
import type { WebhookEndpointRow } from "../../webhooks/endpoints.ts";
import type { DeliveryView } from "../../webhooks/deliveries.ts";
import { WEBHOOK_EVENT_TYPES } from "../../webhooks/outbox.ts";
import { csrfField } from "./layout.ts";
import { copyField, emptyState, errorList, statusBadge } from "./components.ts";

export const DELIVERY_FILTERS = { all: "All deliveries", failed: "Failed", pending: "Pending", succeeded: "Succeeded" } as const;
export type DeliveryFilter = keyof typeof DELIVERY_FILTERS;

const deliveryTone = (status: DeliveryView["status"]) => (status === "succeeded" ? "ok" : status === "failed" ? "bad" : "warn");

function lastAttempt(delivery: DeliveryView): SafeHtml {
  const last = delivery.attempts.at(-1);
  if (!last) return html`<span class="muted">not sent yet</span>`;
  return html`${last.status_code ?? "no answer"}${last.error ? html` <span class="muted">(${last.error})</span>` : ""}`;
}

/** Webhook endpoints (the secret shown once, at creation) and the delivery log with Retry. */
export function webhooksView(props: {
  session: PortalSession;
  endpoints: WebhookEndpointRow[];
  deliveries: DeliveryView[];
  filter: DeliveryFilter;
  created?: WebhookEndpointRow | undefined;
  urlError?: string | undefined;
  retryError?: string | undefined;
}): SafeHtml {
  const { session } = props;
  const urlOf = new Map(props.endpoints.map((e) => [e.id, e.url]));
  return html`
<section aria-labelledby="endpoints-h">
  <h2 id="endpoints-h">Endpoints</h2>
  ${props.created ? html`<div class="issued" role="alert">
    <p><strong>Endpoint added.</strong> Copy its signing secret now: it is shown only this once. Your receiver verifies each delivery with it (Standard Webhooks).</p>
    ${copyField({ id: "endpoint-secret", label: "Signing secret", value: props.created.secret })}
  </div>` : ""}
  <form method="post" action="/portal/webhooks" class="stack" novalidate>
    ${csrfField(session)}
    <label for="endpoint-url">Endpoint URL</label>
    <input id="endpoint-url" name="url" type="url" required placeholder="https://example.com/webhooks/rollcall" aria-describedby="endpoint-url-errors"${props.urlError ? html` aria-invalid="true"` : ""}>
    ${errorList("endpoint-url-errors", props.urlError ? [props.urlError] : [])}
    <fieldset><legend>Events (none ticked = every event)</legend>
      ${WEBHOOK_EVENT_TYPES.map((t) => html`<div class="checkbox"><input id="ev-${t}" type="checkbox" name="event:${t}" value="on"><label for="ev-${t}" class="mono">${t}</label></div>`)}
    </fieldset>
    <div><button type="submit">Add endpoint</button></div>
  </form>
  ${props.endpoints.length === 0 ? emptyState("No endpoints yet.") : html`<table>
    <caption>Endpoints</caption>
    <thead><tr><th scope="col">URL</th><th scope="col">Events</th><th scope="col">Added</th><th scope="col"><span class="visually-hidden">Actions</span></th></tr></thead>
    <tbody>${props.endpoints.map((e) => html`<tr><th scope="row" class="mono">${e.url}</th><td>${e.events.length === 0 ? "every event" : e.events.join(", ")}</td><td>${timeTag(e.created_at)}</td>
      <td><form method="post" action="/portal/webhooks/${e.id}/delete" class="inline">${csrfField(session)}<button type="submit" class="danger">Delete</button></form></td></tr>`)}</tbody>
  </table>`}
</section>
<section aria-labelledby="deliveries-h">
  <h2 id="deliveries-h">Deliveries</h2>
  ${props.retryError ? html`<div class="alert" role="alert"><p>${props.retryError}</p></div>` : ""}
  <form method="get" action="/portal/webhooks" class="filters" aria-label="Filter deliveries">
    <div><label for="delivery-filter">Status</label>
    <select id="delivery-filter" name="status">${Object.entries(DELIVERY_FILTERS).map(([v, l]) => html`<option value="${v}"${v === props.filter ? html` selected` : ""}>${l}</option>`)}</select></div>
    <div class="filter-submit"><button type="submit">Apply filter</button></div>
  </form>
  ${props.deliveries.length === 0 ? emptyState("No deliveries match.") : html`<table>
    <caption>Deliveries, newest first</caption>
    <thead><tr><th scope="col">Event</th><th scope="col">Endpoint</th><th scope="col">Status</th><th scope="col">Attempts</th><th scope="col">Last answer</th><th scope="col">Last attempt</th><th scope="col"><span class="visually-hidden">Actions</span></th></tr></thead>
    <tbody>${props.deliveries.map((d) => html`<tr id="delivery-${d.id}" data-delivery-id="${d.id}">
      <th scope="row" class="mono">${d.event_type}</th>
      <td class="mono">${urlOf.get(d.endpoint_id) ?? d.endpoint_id}</td>
      <td>${statusBadge(d.status, deliveryTone(d.status))}</td>
      <td>${d.attempt_count}</td>
      <td>${lastAttempt(d)}</td>
      <td>${timeTag(d.last_attempt_at)}</td>
      <td><form method="post" action="/portal/webhooks/deliveries/${d.id}/retry" class="inline">${csrfField(session)}<button type="submit">Retry</button></form></td>
    </tr>`)}</tbody>
  </table>`}
</section>`;
}
