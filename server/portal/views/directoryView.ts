import { html, type SafeHtml } from "../html.ts";

/** Directory connections are built separately; this build says so plainly instead of pretending. */
export function directoryView(): SafeHtml {
  return html`
<div class="alert alert-info" role="note">
  <p><strong>Directory connections are not available in this build of Rollcall.</strong></p>
  <p>A directory connection would give Rollcall read-only access to your IdP's own API (Okta, Entra ID, Google Workspace, OneLogin) so it can find what SCIM missed: users suspended without being unassigned, roles deleted, people assigned before provisioning was switched on. This build has no directory API yet, so nothing can be configured here.</p>
  <p>Until then, the <a href="/portal/reconcile">Reconciliation</a> page checks what Rollcall holds against its own rules, and the <a href="/portal/log">Request log</a> shows every change your IdP sends.</p>
</div>`;
}
