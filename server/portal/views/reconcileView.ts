import { html, timeTag, type SafeHtml } from "../html.ts";
import type { PortalSession } from "../context.ts";
import type { ReconcileRunListRow, ReconcileRunRow } from "../../../reconciler/runStore.ts";
import type { Finding, FindingKind } from "../../../reconciler/types.ts";
import { FINDING_KINDS, IDP_FINDING_KINDS } from "../../../reconciler/types.ts";
import type { BlastRadius } from "../blastRadius.ts";
import type { BlastRadius as GuardRadius } from "../../../reconciler/directory/guard.ts";
import { csrfField } from "./layout.ts";
import { emptyState, statusBadge } from "./components.ts";

/** What each kind of finding means, in plain words. */
export const KIND_TEXT: Record<FindingKind, { title: string; meaning: string }> = {
  mapping_drift: { title: "Mapping drift", meaning: "Users whose app fields differ from what the current attribute mapping makes of their SCIM data. Repair rewrites the fields." },
  stale_membership: { title: "Stale memberships", meaning: "Team memberships that should no longer be active (for example of a deactivated user). Repair removes or suspends them." },
  expired_pending_membership: { title: "Expired pending memberships", meaning: "Group members the IdP named but never provisioned, waiting longer than allowed. Repair drops them." },
  stale_team: { title: "Stale teams", meaning: "Teams the IdP has not touched for a long time and that have no active member. Reported only." },
  broken_invariant: { title: "Broken invariants", meaning: "Data that breaks a rule (for example two active users with one email). Reported only: fix it in the IdP." },
  idp_user_missing: { title: "Missing from Rollcall", meaning: "Users assigned to the app in the IdP that never arrived over SCIM (for example assigned before provisioning was turned on). Repair provisions them." },
  idp_user_inactive: { title: "Inactive in the IdP", meaning: "Users suspended, deactivated or unassigned in the IdP but still active here (the IdP sent no SCIM call). Repair deactivates them." },
  idp_user_unknown: { title: "Unknown to the IdP", meaning: "Users active here that the IdP's directory does not know. Repair deactivates them." },
  idp_attribute_drift: { title: "Profile drift", meaning: "Users whose IdP profile differs from what Rollcall last received over SCIM. Repair applies the IdP's values." },
  idp_member_missing: { title: "Missing team members", meaning: "Members of an IdP group that are not members of its team here. Repair adds them." },
  idp_member_stale: { title: "Stale team members", meaning: "Team members who are no longer in the IdP group (for example after the group was unassigned). Repair removes them." },
  idp_group_missing: { title: "Group gone from the IdP", meaning: "Teams whose IdP group no longer exists (for example a OneLogin role that was deleted). Repair deletes the team." },
};

/** The run's sources, as the admin chooses them. */
const SOURCE_TEXT = { local: "Rollcall's own rules (local)", idp: "The IdP's directory (IdP)", all: "Both (all)" } as const;

type PulledDirectory = { provider: string; mode: string; users_seen: number; groups_seen: number; repair_skipped?: string };

const runTone = (status: string) => (status === "succeeded" ? "ok" : status === "failed" ? "bad" : "neutral");

function total(run: ReconcileRunListRow): string {
  const summary = run.summary as { total?: number; repaired?: number };
  if (typeof summary.total !== "number") return "–";
  return run.repair ? `${summary.total} found, ${summary.repaired ?? 0} repaired` : `${summary.total} found`;
}

/** The reconciliation page: start a run, list runs. */
export function reconcileView(props: { session: PortalSession; runs: ReconcileRunListRow[]; hasDirectory: boolean; error?: string | undefined }): SafeHtml {
  const chosen = props.hasDirectory ? "all" : "local";
  return html`
<p class="lead">A reconciliation compares what Rollcall holds with what it should hold (current mapping, memberships of deactivated users, pending members) and, with a <a href="/portal/directory">directory connection</a>, with what your IdP's own directory says. It reports the differences and changes nothing unless you repair a finding.</p>
${props.error ? html`<div class="alert" role="alert"><p>${props.error}</p></div>` : ""}
<form method="post" action="/portal/reconcile" class="actions">${csrfField(props.session)}
  <label for="reconcile-source">Compare with</label>
  <select id="reconcile-source" name="source" aria-describedby="reconcile-source-hint">
    ${Object.entries(SOURCE_TEXT).map(([value, label]) => html`<option value="${value}"${value === chosen ? html` selected` : ""}>${label}</option>`)}
  </select>
  <button type="submit">Run reconciliation</button>
</form>
<p id="reconcile-source-hint" class="hint">${props.hasDirectory ? "The IdP's directory is read once per run, read-only." : "No directory connection yet: only Rollcall's own rules can be checked."}</p>
${props.runs.length === 0 ? emptyState("No runs yet.") : html`<table>
  <caption>Runs, newest first</caption>
  <thead><tr><th scope="col">Started</th><th scope="col">Status</th><th scope="col">Mode</th><th scope="col">Trigger</th><th scope="col">Findings</th><th scope="col"><span class="visually-hidden">Details</span></th></tr></thead>
  <tbody>${props.runs.map((r) => html`<tr><th scope="row">${timeTag(r.started_at)}</th><td>${statusBadge(r.status, runTone(r.status))}</td><td>${r.repair ? "repair" : "report"}</td><td>${r.trigger}</td><td>${total(r)}</td><td><a href="/portal/reconcile/runs/${r.id}">Findings of the run of ${r.started_at.toISOString().slice(0, 19).replace("T", " ")}</a></td></tr>`)}</tbody>
</table>`}`;
}

function subjectText(finding: Finding): string {
  const s = finding.subject;
  switch (s.type) {
    case "user": return `user ${s.id}`;
    case "membership": return `user ${s.user_id} in team ${s.team_id}`;
    case "pending_membership": return `pending member "${s.member_value}" of team ${s.team_id}`;
    case "team": return `team ${s.id}`;
    case "email": return `email ${s.email}`;
    case "idp_user": return `IdP user ${s.user_name ?? s.idp_id}`;
    case "idp_group": return `IdP group ${s.name}`;
  }
}

const compact = (value: Record<string, unknown>) => JSON.stringify(value);

/** What the run compared with, and what each directory pull read. */
function sourceLine(run: ReconcileRunRow): SafeHtml {
  const summary = run.summary as { source?: string; directories?: PulledDirectory[] };
  const source = summary.source && Object.hasOwn(SOURCE_TEXT, summary.source) ? SOURCE_TEXT[summary.source as keyof typeof SOURCE_TEXT] : SOURCE_TEXT.local;
  const pulls = summary.directories ?? [];
  return html`<p>Compared with: ${source}.</p>
${pulls.length > 0 ? html`<ul class="pulls">${pulls.map((d) => html`<li>${d.provider} directory, ${d.mode} pull: ${d.users_seen} user(s) and ${d.groups_seen} group(s) read${d.repair_skipped ? html`; repair skipped: ${d.repair_skipped}` : ""}</li>`)}</ul>` : ""}`;
}

/** One run's findings, grouped by kind, each repairable kind with its Repair button. */
export function runView(props: { run: ReconcileRunRow }): SafeHtml {
  const { run } = props;
  const byKind = new Map<FindingKind, Finding[]>();
  for (const f of run.findings) byKind.set(f.kind, [...(byKind.get(f.kind) ?? []), f]);
  return html`<p><a href="/portal/reconcile">Back to reconciliation</a></p>
<p>Status ${statusBadge(run.status, runTone(run.status))}, ${run.repair ? "repair run" : "report run"}, started ${timeTag(run.started_at)}${run.error ? html`. ${run.error}` : ""}.</p>
${sourceLine(run)}
${run.findings.length === 0 ? emptyState("No findings: everything Rollcall holds matches what it should hold.") : ""}
${FINDING_KINDS.filter((k) => byKind.has(k)).map((kind) => {
  const findings = byKind.get(kind)!;
  const repairable = !run.repair && findings.some((f) => f.action !== null);
  const fromIdp = (IDP_FINDING_KINDS as readonly string[]).includes(kind);
  return html`<section aria-labelledby="kind-${kind}" class="panel" data-kind="${kind}">
  <h2 id="kind-${kind}">${KIND_TEXT[kind].title} (${findings.length})</h2>
  <p>${KIND_TEXT[kind].meaning}</p>
  <table>
    <caption>${KIND_TEXT[kind].title}</caption>
    <thead><tr><th scope="col">Subject</th><th scope="col">Why</th>${fromIdp ? html`<th scope="col">In the IdP</th>` : ""}<th scope="col">Stored</th><th scope="col">Expected</th><th scope="col">Fix</th></tr></thead>
    <tbody>${findings.map((f) => html`<tr><th scope="row" class="mono">${subjectText(f)}</th><td>${f.reason}</td>${fromIdp ? html`<td class="mono small">${f.idp ? compact(f.idp) : "–"}</td>` : ""}<td class="mono small">${compact(f.stored)}</td><td class="mono small">${compact(f.expected)}</td><td>${f.repair ? `${f.action ?? "none"}: ${f.repair.outcome}${f.repair.error ? ` (${f.repair.error})` : ""}` : f.action ?? "reported only"}</td></tr>`)}</tbody>
  </table>
  ${repairable ? html`<form method="get" action="/portal/reconcile/runs/${run.id}/repair" class="inline"><input type="hidden" name="kind" value="${kind}"><button type="submit" aria-describedby="kind-${kind}">Repair</button></form>` : ""}
</section>`;
})}`;
}

/** The confirmation before a repair: what it would change, and a warning when that is a lot. */
export function repairConfirmView(props: { session: PortalSession; run: ReconcileRunRow; radius: BlastRadius }): SafeHtml {
  const r = props.radius;
  const pct = `${(r.ratio * 100).toFixed(1)}%`;
  return html`<section aria-labelledby="confirm-h" class="panel confirm">
  <h2 id="confirm-h">Confirm the repair of ${KIND_TEXT[r.kind].title.toLowerCase()}</h2>
  <p>Rollcall will look for ${KIND_TEXT[r.kind].title.toLowerCase()} again and fix every one it finds, each with its webhook event and audit entry. Judging by this run, that changes:</p>
  <ul>
    <li><strong>${r.usersAffected}</strong> user(s), ${pct} of the organization's ${r.activeUsers} active user(s)</li>
    <li><strong>${r.membershipsRemoved}</strong> membership(s) removed and <strong>${r.membershipsSuspended}</strong> suspended</li>
    <li>${r.repairable} of ${r.findings} finding(s) of this kind can be repaired; the rest are reported only</li>
  </ul>
  ${r.large ? html`<div class="alert" role="alert"><p><strong>This repair touches more than a fifth of your active users.</strong> If that is unexpected, check your IdP first: a misconfigured mapping or assignment can make a whole company look wrong.</p></div>` : ""}
  <form method="post" action="/portal/reconcile/runs/${props.run.id}/repair" class="actions">
    ${csrfField(props.session)}
    <input type="hidden" name="kind" value="${r.kind}">
    <button type="submit" class="danger">Confirm repair</button>
    <a href="/portal/reconcile/runs/${props.run.id}" class="button secondary">Cancel</a>
  </form>
</section>`;
}

/** The directory guard refused a repair: its numbers, and "Repair anyway" (force) for an admin who checked the IdP. */
export function blastRadiusRefusedView(props: { session: PortalSession; run: ReconcileRunRow; kind: FindingKind; radius: GuardRadius }): SafeHtml {
  const r = props.radius;
  const limit = `${Math.round(r.max_deactivation_ratio * 1000) / 10}%`;
  return html`<section aria-labelledby="refused-h" class="panel confirm">
  <h2 id="refused-h">Rollcall held back the repair (${KIND_TEXT[props.kind].title})</h2>
  <div class="alert" role="alert">
    <p><strong>Nothing was changed.</strong> This repair is larger than the directory's limit allows, which is what an IdP answering with a wrong or empty list would look like.</p>
  </div>
  <ul>
    <li>It would deactivate <strong>${r.deactivations}</strong> of <strong>${r.active_users}</strong> active user(s); the limit is ${limit} of active users.</li>
    <li>It would empty <strong>${r.teams_emptied.length}</strong> team(s)${r.teams_emptied.length > 0 ? html`: <span class="mono">${r.teams_emptied.join(", ")}</span>` : ""}.</li>
  </ul>
  <p>Check the IdP first. If these changes are what you expect, repair anyway.</p>
  <form method="post" action="/portal/reconcile/runs/${props.run.id}/repair" class="actions">
    ${csrfField(props.session)}
    <input type="hidden" name="kind" value="${props.kind}">
    <input type="hidden" name="force" value="true">
    <button type="submit" class="danger">Repair anyway</button>
    <a href="/portal/reconcile/runs/${props.run.id}" class="button secondary">Cancel</a>
  </form>
</section>`;
}
