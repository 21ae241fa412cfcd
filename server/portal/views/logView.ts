import { html, join, timeTag, type SafeHtml } from "../html.ts";
import type { RequestLogRow } from "../../models/portalReadModel.ts";
import { explainScimRequest } from "../errorExplanations.ts";
import { emptyState, statusBadge } from "./components.ts";

export const STATUS_FILTERS = { all: "All statuses", success: "Successes (2xx/3xx)", errors: "All errors (4xx/5xx)", client: "IdP errors (4xx)", server: "Rollcall errors (5xx)" } as const;
export const RESOURCE_FILTERS = { all: "All resources", Users: "Users", Groups: "Groups", discovery: "Discovery (ServiceProviderConfig, Schemas, ResourceTypes)" } as const;
export type StatusFilter = keyof typeof STATUS_FILTERS;
export type ResourceFilter = keyof typeof RESOURCE_FILTERS;

const tone = (status: number) => (status >= 500 ? "bad" : status >= 400 ? "warn" : "ok");

/** One log row; failed requests carry their explanation in the same row. */
export function logRow(row: RequestLogRow): SafeHtml {
  const explained = explainScimRequest(row);
  return html`<tr id="log-${row.id}" data-log-id="${row.id}">
  <td>${timeTag(row.created_at)}</td>
  <td class="mono">${row.method}</td>
  <td class="mono path">${row.path}</td>
  <td>${statusBadge(String(row.status), tone(row.status))}</td>
  <td>${row.duration_ms} ms</td>
  <td>${explained ? html`<div class="explain"><p><strong>${explained.title}</strong></p><p>${explained.whatToDo}</p>${row.error ? html`<p class="muted">Rollcall answered: ${row.error}</p>` : ""}<p class="muted">Request id <span class="mono">${row.request_id}</span></p></div>` : html`<span class="muted">OK</span>`}</td>
</tr>`;
}

/** Rows only, for the live-update script. */
export function logRows(rows: RequestLogRow[]): SafeHtml {
  return join(rows.map(logRow));
}

/** The request log with its filters; the script polls for newer rows with the same filters. */
export function logView(props: { rows: RequestLogRow[]; status: StatusFilter; resource: ResourceFilter }): SafeHtml {
  const query = new URLSearchParams({ status: props.status, resource: props.resource }).toString();
  return html`
<p class="lead">Every SCIM request your IdP sends, newest first. Failed requests say what went wrong and what to do. New requests appear here as they arrive.</p>
<form method="get" action="/portal/log" class="filters" role="search" aria-label="Filter the request log">
  <div><label for="status-filter">Status</label>
  <select id="status-filter" name="status">${Object.entries(STATUS_FILTERS).map(([value, label]) => html`<option value="${value}"${value === props.status ? html` selected` : ""}>${label}</option>`)}</select></div>
  <div><label for="resource-filter">Resource</label>
  <select id="resource-filter" name="resource">${Object.entries(RESOURCE_FILTERS).map(([value, label]) => html`<option value="${value}"${value === props.resource ? html` selected` : ""}>${label}</option>`)}</select></div>
  <div class="filter-submit"><button type="submit">Apply filters</button></div>
</form>
<p id="log-live" class="muted" role="status" aria-live="polite"></p>
<table class="log">
  <caption>SCIM requests</caption>
  <thead><tr><th scope="col">Time</th><th scope="col">Method</th><th scope="col">Path</th><th scope="col">Status</th><th scope="col">Duration</th><th scope="col">What it means</th></tr></thead>
  <tbody id="log-rows" data-poll-url="/portal/log/rows?${query}" data-newest="${props.rows[0]?.id ?? ""}">${logRows(props.rows)}</tbody>
</table>
${props.rows.length === 0 ? emptyState("No requests match yet. Once your IdP connects (for example with its test-connection button), its requests show up here.") : ""}`;
}
