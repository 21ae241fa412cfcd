import { html, timeTag, type SafeHtml } from "../html.ts";
import type { PortalSession } from "../context.ts";
import type { MappingVersionRow } from "../../commands/attributeMappings.ts";
import type { UserRow } from "../../models/rows.ts";
import type { MappingChange } from "../mappingDiff.ts";
import { changedFields } from "../mappingDiff.ts";
import { csrfField } from "./layout.ts";
import { emptyState, errorList } from "./components.ts";

/** What a preview shows: the user's stored app fields and what the edited mapping would make of them. */
export type MappingPreview = {
  user: Pick<UserRow, "id" | "user_name">;
  current: Record<string, unknown>;
  proposed: Record<string, unknown>;
  errors: string[];
};

export type ApplyProgress = { version: number | null; total: number; onVersion: number };

const show = (value: unknown) => (value === undefined || value === null ? "" : typeof value === "string" ? value : JSON.stringify(value));

/** The preview table (also sent alone to the live-preview script). */
export function previewFragment(preview: MappingPreview | undefined, problems: string[]): SafeHtml {
  if (problems.length > 0) return html`<p class="muted">Fix the problems above to see a preview.</p>`;
  if (!preview) return html`<p class="muted">Choose a provisioned user to preview the mapping on.</p>`;
  const changed = changedFields(preview.current, preview.proposed);
  const fields = [...new Set([...Object.keys(preview.current), ...Object.keys(preview.proposed)])];
  return html`<table>
  <caption>Preview for <span class="mono">${preview.user.user_name}</span>: ${changed.size} field(s) would change</caption>
  <thead><tr><th scope="col">Field</th><th scope="col">Stored now</th><th scope="col">With this mapping</th><th scope="col">Change</th></tr></thead>
  <tbody>${fields.map((f) => html`<tr${changed.has(f) ? html` class="changed"` : ""}><th scope="row" class="mono">${f}</th><td class="mono">${show(preview.current[f])}</td><td class="mono">${show(preview.proposed[f])}</td><td>${changed.has(f) ? "changes" : "same"}</td></tr>`)}</tbody>
</table>
${preview.errors.length > 0 ? html`<div class="alert" role="alert"><p><strong>Evaluation problems for this user</strong></p><ul>${preview.errors.map((e) => html`<li>${e}</li>`)}</ul></div>` : ""}`;
}

/** The progress line of a background apply (polled by the script while users catch up). */
export function progressFragment(progress: ApplyProgress): SafeHtml {
  const done = progress.onVersion >= progress.total;
  return html`<p>${done ? "All" : progress.onVersion} of ${progress.total} user(s) mapped with version ${progress.version ?? "defaults"}${done ? "." : "…"}</p>
<progress max="${Math.max(progress.total, 1)}" value="${progress.onVersion}" aria-label="Users re-mapped">${progress.onVersion} of ${progress.total}</progress>`;
}

/** The mapping editor: document, validation, live preview, save (optionally applying), versions. */
export function mappingView(props: {
  session: PortalSession;
  current: MappingVersionRow | undefined;
  defaults: Record<string, unknown>;
  documentText: string;
  problems: string[];
  users: Array<Pick<UserRow, "id" | "user_name">>;
  previewUserId: string | undefined;
  preview: MappingPreview | undefined;
  versions: MappingVersionRow[];
  applying: ApplyProgress | undefined;
}): SafeHtml {
  const invalid = props.problems.length > 0;
  return html`
<p class="lead">Current version: <strong>${props.current ? `version ${props.current.version}` : "built-in defaults only"}</strong>. A mapping turns SCIM attributes into this application's fields; entries here override the defaults by source path.</p>
${props.applying ? html`<section aria-labelledby="apply-h" class="panel"><h2 id="apply-h">Applying to existing users</h2><div id="apply-progress" role="status" aria-live="polite" data-progress-url="/portal/mapping/progress">${progressFragment(props.applying)}</div></section>` : ""}
<form method="post" action="/portal/mapping" id="mapping-form" class="stack" novalidate>
  ${csrfField(props.session)}
  <label for="mapping-document">Mapping</label>
  <p id="mapping-hint" class="hint">JSON: each key is a SCIM source path (e.g. <code>groups[0].value</code>), each value a destination (<code>first_name</code>, <code>public_metadata.department</code>) or a Liquid template followed by <code>.destination</code>.</p>
  <textarea id="mapping-document" name="mapping" rows="10" spellcheck="false" class="mono" aria-describedby="mapping-hint mapping-errors"${invalid ? html` aria-invalid="true"` : ""}>${props.documentText}</textarea>
  ${errorList("mapping-errors", props.problems)}
  <label for="preview-user">Preview on user</label>
  <select id="preview-user" name="preview_user">
    <option value="">(none)</option>
    ${props.users.map((u) => html`<option value="${u.id}"${u.id === props.previewUserId ? html` selected` : ""}>${u.user_name}</option>`)}
  </select>
  <div class="checkbox"><input id="apply-existing" name="apply" type="checkbox" value="true"><label for="apply-existing">Apply to existing users (re-map everyone now, in the background)</label></div>
  <div class="actions">
    <button type="submit" formaction="/portal/mapping/preview" class="secondary">Preview</button>
    <button type="submit">Save mapping</button>
  </div>
</form>
<section aria-labelledby="preview-h">
  <h2 id="preview-h">Live preview</h2>
  <div id="mapping-preview" aria-live="polite" data-preview-url="/portal/mapping/preview">${previewFragment(props.preview, props.problems)}</div>
</section>
<details class="panel"><summary>Built-in defaults</summary><pre class="mono">${JSON.stringify(props.defaults, null, 2)}</pre></details>
<section aria-labelledby="versions-h">
  <h2 id="versions-h">Versions</h2>
  ${props.versions.length === 0 ? emptyState("No version saved yet.") : html`<table>
    <caption>Saved versions, newest first</caption>
    <thead><tr><th scope="col">Version</th><th scope="col">Saved</th><th scope="col">Entries</th><th scope="col">Changes</th></tr></thead>
    <tbody>${props.versions.map((v) => html`<tr><th scope="row">${v.version}</th><td>${timeTag(v.created_at)}</td><td>${Object.keys(v.mapping).length}</td><td><a href="/portal/mapping/versions/${v.version}">Compare version ${v.version} with ${v.version > 1 ? `version ${v.version - 1}` : "the defaults"}</a></td></tr>`)}</tbody>
  </table>`}
</section>`;
}

/** One version's differences from the one before it. */
export function mappingDiffView(props: { version: number; changes: MappingChange[] }): SafeHtml {
  return html`<p><a href="/portal/mapping">Back to the mapping editor</a></p>
${props.changes.length === 0 ? emptyState("This version has the same entries as the one before it.") : html`<table>
  <caption>Version ${props.version} compared with ${props.version > 1 ? `version ${props.version - 1}` : "no mapping"}</caption>
  <thead><tr><th scope="col">Source path</th><th scope="col">Change</th><th scope="col">Before</th><th scope="col">After</th></tr></thead>
  <tbody>${props.changes.map((c) => html`<tr class="diff-${c.kind}"><th scope="row" class="mono">${c.key}</th><td>${c.kind}</td><td class="mono">${c.kind === "added" ? "" : show(c.before)}</td><td class="mono">${c.kind === "removed" ? "" : show(c.after)}</td></tr>`)}</tbody>
</table>`}`;
}
