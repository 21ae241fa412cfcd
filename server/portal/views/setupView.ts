import { html, timeTag, type SafeHtml } from "../html.ts";
import type { PortalSession } from "../context.ts";
import type { PortalTokenRow } from "../../models/portalReadModel.ts";
import { csrfField } from "./layout.ts";
import { copyField, emptyState, errorList, statusBadge } from "./components.ts";
import { GUIDES, type Guide } from "./guides.ts";

/** The Setup page: endpoint URL, token issue/list/revoke, links to the IdP guides. */
export function setupView(props: {
  session: PortalSession;
  endpointUrl: string;
  tokens: PortalTokenRow[];
  issued?: { name: string; token: string } | undefined;
  labelError?: string | undefined;
}): SafeHtml {
  const { session } = props;
  return html`
<section aria-labelledby="endpoint-h">
  <h2 id="endpoint-h">1. SCIM endpoint</h2>
  ${copyField({ id: "endpoint-url", label: "SCIM base URL", value: props.endpointUrl, hint: "Paste this into your IdP's SCIM connector (Okta: SCIM connector base URL; Entra ID: Tenant URL)." })}
</section>
<section aria-labelledby="tokens-h">
  <h2 id="tokens-h">2. SCIM tokens</h2>
  ${props.issued ? html`<div class="issued" role="alert">
    <p><strong>Token "${props.issued.name}" issued.</strong> Copy it now: it is shown only this once and stored hashed.</p>
    ${copyField({ id: "issued-token", label: "New SCIM token", value: props.issued.token })}
  </div>` : ""}
  <form method="post" action="/portal/tokens" class="stack" novalidate>
    ${csrfField(session)}
    <label for="token-name">Token label</label>
    <input id="token-name" name="name" type="text" maxlength="200" required placeholder="e.g. Okta production"
      aria-describedby="token-name-hint token-name-errors"${props.labelError ? html` aria-invalid="true"` : ""}>
    <p id="token-name-hint" class="hint">A name that says which IdP uses the token, so you know what to revoke later.</p>
    ${errorList("token-name-errors", props.labelError ? [props.labelError] : [])}
    <div><button type="submit">Issue token</button></div>
  </form>
  ${props.tokens.length === 0 ? emptyState("No tokens yet. Issue one for your IdP.") : html`
  <table>
    <caption>Tokens of this organization</caption>
    <thead><tr><th scope="col">Label</th><th scope="col">Prefix</th><th scope="col">Created</th><th scope="col">Last used</th><th scope="col">Status</th><th scope="col"><span class="visually-hidden">Actions</span></th></tr></thead>
    <tbody>
    ${props.tokens.map((t) => html`<tr>
      <th scope="row">${t.name}</th>
      <td class="mono">${t.prefix}…</td>
      <td>${timeTag(t.created_at)}</td>
      <td>${timeTag(t.last_used_at)}</td>
      <td>${t.revoked_at ? statusBadge("Revoked", "bad") : statusBadge("Active", "ok")}</td>
      <td>${t.revoked_at ? "" : html`<form method="post" action="/portal/tokens/${t.id}/revoke" class="inline">${csrfField(session)}<button type="submit" class="danger" aria-describedby="token-${t.id}">Revoke</button></form><span id="token-${t.id}" class="visually-hidden">token ${t.name}</span>`}</td>
    </tr>`)}
    </tbody>
  </table>`}
</section>
<section aria-labelledby="guides-h">
  <h2 id="guides-h">3. Connect your identity provider</h2>
  <ul class="cards">
    ${GUIDES.map((g) => html`<li><a href="/portal/guides/${g.id}">${g.name}</a><p>${g.summary}</p></li>`)}
  </ul>
</section>`;
}

/** One IdP's step-by-step guide with its traps. */
export function guideView(guide: Guide, endpointUrl: string): SafeHtml {
  return html`
<p class="lead">${guide.summary}</p>
${copyField({ id: "endpoint-url", label: "SCIM base URL", value: endpointUrl })}
<p>You also need a token: issue one on the <a href="/portal/setup">Setup</a> page.</p>
<section aria-labelledby="steps-h">
  <h2 id="steps-h">Steps</h2>
  <ol class="steps">${guide.steps(endpointUrl).map((s) => html`<li>${s}</li>`)}</ol>
</section>
<section aria-labelledby="traps-h">
  <h2 id="traps-h">Known traps</h2>
  ${guide.traps.map((t) => html`<div class="trap"><h3>${t.title}</h3><p>${t.body}</p></div>`)}
</section>
<p>Then watch the <a href="/portal/log">Request log</a>: each request from ${guide.name} appears there within seconds, with failures explained.</p>`;
}
