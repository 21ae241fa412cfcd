import { html, timeTag, type SafeHtml } from "../html.ts";
import type { PortalSession } from "../context.ts";
import type { ConnectionDirectory } from "../directoryConnections.ts";
import type { DirectoryRow } from "../../../reconciler/directory/directoryStore.ts";
import { FORM_PROVIDERS } from "../directoryForm.ts";
import { csrfField } from "./layout.ts";
import { emptyState, errorList, statusBadge } from "./components.ts";

/** What Test connection answered (the admin API's `POST …/directory/test` shape). */
export type DirectoryTestResult = { ok: boolean; detail: string; users: number; groups: number };

/** Feedback for one connection after a form post. */
export type DirectoryFeedback = { connectionId: string; errors?: string[]; test?: DirectoryTestResult };

const PROVIDER_NAMES: Record<string, string> = { ...FORM_PROVIDERS, google: "Google Workspace", onelogin: "OneLogin" };
const NOT_BUILT = new Set(["google", "onelogin"]);

const SETTING_LABELS: Record<string, string> = {
  base_url: "Base URL", app_id: "App ID", tenant_id: "Tenant ID", service_principal_id: "Service principal ID",
  login_base_url: "Login base URL", external_id_attribute: "Attribute sent as externalId", customer: "Customer", token_url: "Token URL",
  auth: "Authentication", client_id: "Client ID", key_id: "Key ID", subject: "Admin subject", client_email: "Service account",
};

/** The stored directory: settings and the non-secret credential fields; secrets only as "configured". */
function storedView(dir: DirectoryRow): SafeHtml {
  const rows: Array<[string, string]> = [
    ["Provider", PROVIDER_NAMES[dir.provider] ?? dir.provider],
    ...Object.entries(dir.settings).map(([k, v]): [string, string] => [SETTING_LABELS[k] ?? k, String(v)]),
    ...Object.entries(dir.public_credentials).map(([k, v]): [string, string] => [`Credential: ${SETTING_LABELS[k] ?? k}`, String(v)]),
  ];
  return html`<dl class="facts">
  ${rows.map(([k, v]) => html`<dt>${k}</dt><dd class="mono">${v}</dd>`)}
  <dt>Credentials</dt><dd>${statusBadge("configured: true", "ok")} <span class="muted">(secret values are sealed and never shown)</span></dd>
  <dt>Deactivation limit</dt><dd>${Math.round(dir.max_deactivation_ratio * 1000) / 10}% of active users per repair</dd>
  <dt>Schedule</dt><dd>pulled every ${dir.interval_minutes} minutes, in full every ${dir.full_every_hours} hours</dd>
  <dt>Last pull</dt><dd>${timeTag(dir.last_run_at)}</dd>
</dl>
${NOT_BUILT.has(dir.provider) ? html`<div class="alert alert-info" role="note"><p><strong>${PROVIDER_NAMES[dir.provider]} is stored but not pulled:</strong> its connector is not built in this version of Rollcall, so Test connection and reconciliations say so and compare nothing.</p></div>` : ""}`;
}

function testResultView(test: DirectoryTestResult): SafeHtml {
  return html`<div class="${test.ok ? "notice" : "alert"}" role="status">
  <p><strong>${test.ok ? "Connection works." : "Connection failed."}</strong> ${test.detail}</p>
  <p>ok: ${String(test.ok)}, users: ${test.users}, groups: ${test.groups}</p>
</div>`;
}

function setupForm(session: PortalSession, entry: ConnectionDirectory, errors: string[]): SafeHtml {
  const id = entry.connection.id;
  const dir = entry.directory;
  const chosen = dir && Object.hasOwn(FORM_PROVIDERS, dir.provider) ? dir.provider : entry.connection.provider === "entra" ? "entra" : "okta";
  const setting = (provider: string, key: string) => (dir?.provider === provider ? dir.settings[key] ?? "" : "");
  const errorsId = `dir-errors-${id}`;
  const field = (name: string, label: string, props: { type?: string; value?: string; hint?: string; placeholder?: string } = {}) => html`<label for="${name}-${id}">${label}</label>
    <input id="${name}-${id}" name="${name}" type="${props.type ?? "text"}" value="${props.value ?? ""}"${props.placeholder ? html` placeholder="${props.placeholder}"` : ""}${props.type === "password" ? html` autocomplete="new-password"` : ""} aria-describedby="${errorsId}">
    ${props.hint ? html`<p class="hint">${props.hint}</p>` : ""}`;
  return html`<form method="post" action="/portal/directory/${id}" class="stack" novalidate>
  ${csrfField(session)}
  <label for="provider-${id}">Provider</label>
  <select id="provider-${id}" name="provider" aria-describedby="${errorsId}">
    ${Object.entries(FORM_PROVIDERS).map(([value, name]) => html`<option value="${value}"${value === chosen ? html` selected` : ""}>${name}</option>`)}
  </select>
  <p class="hint">Fill in the fields of the provider you chose; the other provider's fields are ignored. Google Workspace and OneLogin directories can be stored through the admin API, but their connectors are not built yet, so they are not offered here.</p>
  ${errorList(errorsId, errors)}
  <fieldset><legend>Okta</legend>
    ${field("okta_base_url", "Okta base URL", { type: "url", value: setting("okta", "base_url"), placeholder: "https://acme.okta.com" })}
    ${field("okta_app_id", "Okta app ID", { value: setting("okta", "app_id"), hint: "The id of the Rollcall app in Okta (0oa…)." })}
    ${field("okta_api_token", "Okta API token", { type: "password", hint: "A read-only admin's SSWS token (okta.users.read, okta.groups.read, okta.apps.read). An OAuth 2.0 service app with a private key is set up through the admin API." })}
  </fieldset>
  <fieldset><legend>Microsoft Entra ID</legend>
    ${field("entra_tenant_id", "Entra tenant ID", { value: setting("entra", "tenant_id") })}
    ${field("entra_service_principal_id", "Entra service principal ID", { value: setting("entra", "service_principal_id"), hint: "The object id of the enterprise application's service principal." })}
    ${field("entra_external_id_attribute", "Entra attribute sent as externalId", { value: setting("entra", "external_id_attribute") || "mailNickname", hint: "mailNickname (Entra's default mapping), id, userPrincipalName, mail or employeeId." })}
    ${field("entra_base_url", "Entra Graph base URL (optional)", { type: "url", value: setting("entra", "base_url"), placeholder: "https://graph.microsoft.com" })}
    ${field("entra_login_base_url", "Entra login base URL (optional)", { type: "url", value: setting("entra", "login_base_url"), placeholder: "https://login.microsoftonline.com" })}
    ${field("entra_client_id", "Entra client ID", { value: dir?.provider === "entra" ? dir.public_credentials.client_id ?? "" : "" })}
    ${field("entra_client_secret", "Entra client secret", { type: "password" })}
  </fieldset>
  <fieldset><legend>Repairs and schedule</legend>
    ${field("max_deactivation_percent", "Deactivation limit (% of active users)", { type: "number", value: dir ? String(Math.round(dir.max_deactivation_ratio * 1000) / 10) : "20", hint: "A repair that would deactivate more asks for an explicit confirmation first." })}
    ${field("interval_minutes", "Pull every (minutes)", { type: "number", value: dir ? String(dir.interval_minutes) : "60" })}
  </fieldset>
  <p class="hint">Credentials are never shown again once saved: enter them again whenever you save this form.</p>
  <div><button type="submit">Save directory</button></div>
</form>`;
}

function connectionSection(session: PortalSession, entry: ConnectionDirectory, feedback: DirectoryFeedback | undefined): SafeHtml {
  const { connection, directory } = entry;
  const mine = feedback?.connectionId === connection.id ? feedback : undefined;
  const headingId = `conn-${connection.id}`;
  return html`<section aria-labelledby="${headingId}" class="panel">
  <h2 id="${headingId}">${connection.name} <span class="muted">(${connection.provider} connection)</span></h2>
  ${mine?.test ? testResultView(mine.test) : ""}
  ${directory ? html`${storedView(directory)}
  <div class="actions">
    <form method="post" action="/portal/directory/${connection.id}/test" class="inline">${csrfField(session)}<button type="submit">Test connection</button></form>
    <form method="post" action="/portal/directory/${connection.id}/delete" class="inline">${csrfField(session)}<button type="submit" class="danger">Delete directory</button></form>
  </div>` : emptyState("No directory is configured for this connection.")}
  <h3>${directory ? "Change the directory" : "Set up a directory"}</h3>
  ${setupForm(session, entry, mine?.errors ?? [])}
</section>`;
}

/** Per enterprise connection: its directory (settings, never secrets), Test connection, Delete, and the setup form. */
export function directoryView(props: { session: PortalSession; entries: ConnectionDirectory[]; feedback?: DirectoryFeedback | undefined }): SafeHtml {
  return html`
<p class="lead">A directory connection gives Rollcall read-only access to your IdP's own API, so a reconciliation can find what SCIM missed: users suspended without being unassigned, groups unassigned, people assigned before provisioning was switched on. Nothing changes until you repair a finding on the <a href="/portal/reconcile">Reconciliation</a> page.</p>
<p>Built: ${statusBadge("Okta", "ok")} ${statusBadge("Microsoft Entra ID", "ok")}. Not built yet: ${statusBadge("Google Workspace", "neutral")} ${statusBadge("OneLogin", "neutral")} (they can be stored, but are not read).</p>
${props.entries.length === 0 ? emptyState("This organization has no enterprise connection yet: issue a SCIM token on the Setup page first.") : props.entries.map((e) => connectionSection(props.session, e, props.feedback))}`;
}
