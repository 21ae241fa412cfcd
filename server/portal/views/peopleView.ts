import { html, timeTag, type SafeHtml } from "../html.ts";
import type { AppUser, presentAppTeam } from "../../presenters/appViews.ts";
import { emptyState, statusBadge } from "./components.ts";

type AppTeam = ReturnType<typeof presentAppTeam>;

function searchForm(action: string, label: string, query: string): SafeHtml {
  return html`<form method="get" action="${action}" role="search" class="filters" aria-label="${label}">
  <div><label for="q">${label}</label><input id="q" name="q" type="search" value="${query}"></div>
  <div class="filter-submit"><button type="submit">Search</button></div>
</form>`;
}

/** Provisioned users with search. */
export function usersView(props: { users: AppUser[]; query: string }): SafeHtml {
  return html`${searchForm("/portal/users", "Search users by name, email, userName or externalId", props.query)}
${props.users.length === 0 ? emptyState(props.query ? "No user matches this search." : "No users have been provisioned yet.") : html`
<table>
  <caption>${props.users.length} user(s)${props.query ? html` matching "${props.query}"` : ""}</caption>
  <thead><tr><th scope="col">Name</th><th scope="col">Email</th><th scope="col">userName</th><th scope="col">Status</th><th scope="col">Role</th><th scope="col">Teams</th><th scope="col">Updated</th></tr></thead>
  <tbody>${props.users.map((u) => html`<tr>
    <th scope="row">${[u.first_name, u.last_name].filter(Boolean).join(" ") || u.user_name}</th>
    <td>${u.email_address ?? ""}</td>
    <td class="mono">${u.user_name}</td>
    <td>${u.active ? statusBadge("Active", "ok") : statusBadge("Deactivated", "neutral")}</td>
    <td class="mono">${u.organization_role}</td>
    <td>${u.teams.map((t) => t.name).join(", ")}</td>
    <td>${timeTag(u.updated_at === null ? null : new Date(u.updated_at))}</td>
  </tr>`)}</tbody>
</table>`}`;
}

/** Teams (pushed groups) with search. */
export function teamsView(props: { teams: AppTeam[]; query: string }): SafeHtml {
  return html`${searchForm("/portal/teams", "Search teams by name or externalId", props.query)}
${props.teams.length === 0 ? emptyState(props.query ? "No team matches this search." : "No teams yet. Teams are created when your IdP pushes groups.") : html`
<table>
  <caption>${props.teams.length} team(s)${props.query ? html` matching "${props.query}"` : ""}</caption>
  <thead><tr><th scope="col">Name</th><th scope="col">Members</th><th scope="col">externalId</th><th scope="col">Updated</th></tr></thead>
  <tbody>${props.teams.map((t) => html`<tr><th scope="row">${t.name}</th><td>${t.member_count}</td><td class="mono">${t.external_id ?? ""}</td><td>${timeTag(t.updated_at === null ? null : new Date(t.updated_at))}</td></tr>`)}</tbody>
</table>`}`;
}
