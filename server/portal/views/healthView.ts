import { html, timeTag, type SafeHtml } from "../html.ts";
import type { ConnectionHealth, PortalTokenRow, RequestLogRow } from "../../models/portalReadModel.ts";
import { explainScimRequest } from "../errorExplanations.ts";
import { statusBadge } from "./components.ts";

const percent = (part: number, whole: number) => (whole === 0 ? "–" : `${((100 * part) / whole).toFixed(1)}%`);

function requestLine(row: RequestLogRow | undefined, none: string): SafeHtml {
  if (!row) return html`<span class="muted">${none}</span>`;
  return html`${timeTag(row.created_at)}: <span class="mono">${row.method} ${row.path}</span> → ${row.status}`;
}

/** Overall state in one word, from the last day's traffic. */
function verdict(health: ConnectionHealth): SafeHtml {
  if (!health.lastRequest) return statusBadge("Waiting for the IdP", "neutral");
  if (health.lastDay.total > 0 && health.lastDay.errors / health.lastDay.total > 0.1) return statusBadge("Failing requests", "bad");
  if (health.lastError && health.lastSuccess && health.lastError.id > health.lastSuccess.id) return statusBadge("Last request failed", "warn");
  return statusBadge("Healthy", "ok");
}

/** Connection health: last requests from the IdP, its test connection, error rates, token use. */
export function healthView(props: { health: ConnectionHealth; tokens: PortalTokenRow[] }): SafeHtml {
  const { health } = props;
  const lastErrorExplained = health.lastError ? explainScimRequest(health.lastError) : undefined;
  return html`
<p class="lead">State: ${verdict(health)}</p>
<dl class="facts">
  <dt>Last request from the IdP</dt><dd>${requestLine(health.lastRequest, "No request yet.")}</dd>
  <dt>Last successful request</dt><dd>${requestLine(health.lastSuccess, "None yet.")}</dd>
  <dt>Last test connection or lookup</dt><dd>${requestLine(health.lastProbe, "None yet. Use the IdP's test-connection button.")}</dd>
  <dt>Error rate, last hour</dt><dd>${percent(health.lastHour.errors, health.lastHour.total)} (${health.lastHour.errors} of ${health.lastHour.total} requests)</dd>
  <dt>Error rate, last 24 hours</dt><dd>${percent(health.lastDay.errors, health.lastDay.total)} (${health.lastDay.errors} of ${health.lastDay.total} requests)</dd>
  <dt>Last failed request</dt><dd>${health.lastError ? html`${requestLine(health.lastError, "")}${lastErrorExplained ? html`<br><strong>${lastErrorExplained.title}.</strong> ${lastErrorExplained.whatToDo}` : ""}` : html`<span class="muted">None.</span>`}</dd>
</dl>
<section aria-labelledby="tokens-use-h">
  <h2 id="tokens-use-h">Token use</h2>
  <table>
    <caption>When each token was last used</caption>
    <thead><tr><th scope="col">Label</th><th scope="col">Prefix</th><th scope="col">Last used</th><th scope="col">Status</th></tr></thead>
    <tbody>${props.tokens.map((t) => html`<tr><th scope="row">${t.name}</th><td class="mono">${t.prefix}…</td><td>${timeTag(t.last_used_at)}</td><td>${t.revoked_at ? "Revoked" : "Active"}</td></tr>`)}</tbody>
  </table>
</section>
<p class="hint">A request with a wrong or revoked token is refused with 401 before Rollcall knows which organization it is for, so it is not counted here. If your IdP reports 401 while this page shows no recent request, the token in the IdP is the problem: issue a new one on the Setup page.</p>`;
}
