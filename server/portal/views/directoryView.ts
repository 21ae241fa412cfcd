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

const PROVIDER_NAMES: Record<string, string> = { ...FORM_PROVIDERS };

const SETTING_LABELS: Record<string, string> = {
  base_url: "Base URL", app_id: "App ID", tenant_id: "Tenant ID", service_principal_id: "Service principal ID",
  login_base_url: "Login base URL", external_id_attribute: "Attribute sent as externalId", customer: "Customer", token_url: "Token URL",
  domain: "Domain", user_query: "User query (provisioning scope)", scope_groups: "Groups in the provisioning scope", user_name_attribute: "SCIM Username holds",
  auth: "Authentication", client_id: "Client ID", key_id: "Key ID", subject: "Admin subject", client_email: "Service account",
};

/** The stored directory: settings and the non-secret credential fields; secrets only as "configured". */
function storedView(dir: DirectoryRow): SafeHtml {
  const rows: Array<[string, string]> = [
    ["Provider", PROVIDER_NAMES[dir.provider] ?? dir.provider],
    ...Object.entries(dir.settings).map(([k, v]): [string, string] => [SETTING_LABELS[k] ?? k, Array.isArray(v) ? v.join(", ") : String(v)]),
    ...Object.entries(dir.public_credentials).map(([k, v]): [string, string] => [`Credential: ${SETTING_LABELS[k] ?? k}`, String(v)]),
  ];
  return html`<dl class="facts">
  ${rows.map(([k, v]) => html`<dt>${k}</dt><dd class="mono">${v}</dd>`)}
  <dt>Credentials</dt><dd>${statusBadge("configured: true", "ok")} <span class="muted">(secret values are sealed and never shown)</span></dd>
  <dt>Deactivation limit</dt><dd>${Math.round(dir.max_deactivation_ratio * 1000) / 10}% of active users per repair</dd>
  <dt>Schedule</dt><dd>pulled every ${dir.interval_minutes} minutes, in full every ${dir.full_every_hours} hours</dd>
  <dt>Last pull</dt><dd>${timeTag(dir.last_run_at)}</dd>
</dl>`;
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
  const chosen = dir && Object.hasOwn(FORM_PROVIDERS, dir.provider) ? dir.provider : Object.hasOwn(FORM_PROVIDERS, entry.connection.provider) ? entry.connection.provider : "okta";
  // A list setting (Google's scope_groups) shows as the comma-separated text the form takes back.
  const setting = (provider: string, key: string): string => {
    const value = dir?.provider === provider ? dir.settings[key] : undefined;
    return value === undefined || value === null ? "" : Array.isArray(value) ? value.join(", ") : String(value);
  };
  const errorsId = `dir-errors-${id}`;
  const credential = (provider: string, key: string) => (dir?.provider === provider ? dir.public_credentials[key] ?? "" : "");
  const field = (name: string, label: string, props: { type?: string; value?: string; hint?: string; placeholder?: string } = {}) => html`<label for="${name}-${id}">${label}</label>
    <input id="${name}-${id}" name="${name}" type="${props.type ?? "text"}" value="${props.value ?? ""}"${props.placeholder ? html` placeholder="${props.placeholder}"` : ""}${props.type === "password" ? html` autocomplete="new-password"` : ""} aria-describedby="${errorsId}">
    ${props.hint ? html`<p class="hint">${props.hint}</p>` : ""}`;
  return html`<form method="post" action="/portal/directory/${id}" class="stack" novalidate>
  ${csrfField(session)}
  <label for="provider-${id}">Provider</label>
  <select id="provider-${id}" name="provider" aria-describedby="${errorsId}">
    ${Object.entries(FORM_PROVIDERS).map(([value, name]) => html`<option value="${value}"${value === chosen ? html` selected` : ""}>${name}</option>`)}
  </select>
  <p class="hint">Fill in the fields of the provider you chose; the other providers' fields are ignored.</p>
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
  <fieldset><legend>Google Workspace</legend>
    ${field("google_service_account_json", "Google service account key (JSON)", { type: "password", hint: "The JSON key of a service account with domain-wide delegation for the scopes admin.directory.user.readonly, admin.directory.group.readonly and admin.directory.group.member.readonly." })}
    ${field("google_subject", "Google admin to act as", { type: "email", value: credential("google", "subject"), hint: "An admin whose rights the service account borrows (read users and groups is enough)." })}
    ${field("google_customer", "Google customer ID (optional)", { value: setting("google", "customer"), placeholder: "my_customer" })}
    ${field("google_domain", "Google domain (optional)", { value: setting("google", "domain"), hint: "List one domain's users and groups instead of the whole account's." })}
    ${field("google_user_query", "Google user query (optional)", { value: setting("google", "user_query"), placeholder: "orgUnitPath='/Engineering'", hint: "The app's provisioning scope when it is an organizational unit; empty means every user." })}
    ${field("google_scope_groups", "Google groups in the provisioning scope (optional)", { value: setting("google", "scope_groups"), placeholder: "rollcall-users@acme.com", hint: "When the app provisions the members of some groups: their emails, separated by commas. Empty means every user (or the user query's)." })}
    ${field("google_external_id_attribute", "Google attribute sent as externalId", { value: setting("google", "external_id_attribute") || "id", hint: "id (the Google user id), primaryEmail, or none, as the app's attribute mapping sends it." })}
    ${field("google_base_url", "Google Directory API base URL (optional)", { type: "url", value: setting("google", "base_url"), placeholder: "https://admin.googleapis.com" })}
    ${field("google_token_url", "Google token URL (optional)", { type: "url", value: setting("google", "token_url"), placeholder: "https://oauth2.googleapis.com/token" })}
  </fieldset>
  <fieldset><legend>OneLogin</legend>
    ${field("onelogin_base_url", "OneLogin API base URL", { type: "url", value: setting("onelogin", "base_url"), placeholder: "https://acme.onelogin.com" })}
    ${field("onelogin_app_id", "OneLogin app ID", { value: setting("onelogin", "app_id"), hint: "The number in the Rollcall app's URL in OneLogin." })}
    ${field("onelogin_user_name_attribute", "OneLogin SCIM Username holds", { value: setting("onelogin", "user_name_attribute") || "email", hint: "email (OneLogin's default) or username." })}
    ${field("onelogin_external_id_attribute", "OneLogin attribute sent as externalId", { value: setting("onelogin", "external_id_attribute") || "none", hint: "none (the default SCIM JSON template sends none), id, or external_id." })}
    ${field("onelogin_client_id", "OneLogin client ID", { value: credential("onelogin", "client_id") })}
    ${field("onelogin_client_secret", "OneLogin client secret", { type: "password", hint: "An API credential pair with Read All (or Manage All) scope." })}
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
<p>Read: ${Object.values(FORM_PROVIDERS).map((name) => html`${statusBadge(name, "ok")} `)}</p>
${props.entries.length === 0 ? emptyState("This organization has no enterprise connection yet: issue a SCIM token on the Setup page first.") : props.entries.map((e) => connectionSection(props.session, e, props.feedback))}`;
}
