import { html, timeTag, type HtmlValue, type SafeHtml } from "../html.ts";
import type { PortalSession } from "../context.ts";

/** The portal's sections, in navigation order. */
export const SECTIONS = [
  { path: "/portal/setup", label: "Setup" },
  { path: "/portal/health", label: "Connection health" },
  { path: "/portal/log", label: "Request log" },
  { path: "/portal/users", label: "Users" },
  { path: "/portal/teams", label: "Teams" },
  { path: "/portal/mapping", label: "Attribute mapping" },
  { path: "/portal/webhooks", label: "Webhooks" },
  { path: "/portal/reconcile", label: "Reconciliation" },
  { path: "/portal/directory", label: "Directory" },
] as const;

export type SectionPath = (typeof SECTIONS)[number]["path"];

/** Fixed notices shown after a redirect (by key, so no request text is ever reflected). */
export const NOTICES = {
  token_revoked: "The token was revoked. An IdP still using it now gets 401.",
  endpoint_deleted: "The webhook endpoint was deleted; it receives nothing more.",
  delivery_retried: "The delivery is due again; the dispatcher sends it within seconds.",
  mapping_saved: "The mapping was saved as a new version.",
  mapping_saved_applying: "The mapping was saved. Existing users are being re-mapped in the background; progress is shown below.",
  run_finished: "The reconciliation run finished.",
  repair_finished: "The repair run finished. Its findings show what was changed.",
  directory_saved: "The directory was saved. Use Test connection to check that Rollcall can read it.",
  directory_deleted: "The directory was deleted; reconciliations no longer read this IdP.",
} as const;

export type NoticeKey = keyof typeof NOTICES;

/** Whether a query value names a known notice. */
export function isNoticeKey(value: unknown): value is NoticeKey {
  return typeof value === "string" && Object.hasOwn(NOTICES, value);
}

/** The hidden CSRF field every portal form carries. */
export function csrfField(session: PortalSession): SafeHtml {
  return html`<input type="hidden" name="_csrf" value="${session.csrfToken}">`;
}

/** A full portal page: landmarks, navigation with the current section marked, one h1. */
export function layout(props: {
  session: PortalSession;
  section: SectionPath;
  title: string;
  notice?: NoticeKey | undefined;
  body: HtmlValue;
}): SafeHtml {
  const { session } = props;
  return html`<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="csrf-token" content="${session.csrfToken}">
<title>${props.title} · ${session.organizationName} · Rollcall</title>
<link rel="stylesheet" href="/portal/assets/portal.css">
<script src="/portal/assets/portal.js" defer></script>
</head>
<body>
<a class="skip-link" href="#main">Skip to content</a>
<header class="topbar">
  <p class="brand"><span class="brand-name">Rollcall</span> <span class="org-name">${session.organizationName}</span></p>
  <form method="post" action="/portal/sign-out" class="inline">${csrfField(session)}<button type="submit" class="secondary">Sign out</button></form>
</header>
<div class="shell">
<nav aria-label="Portal sections" class="sidenav">
  <ul>
    ${SECTIONS.map((s) => html`<li><a href="${s.path}"${s.path === props.section ? html` aria-current="page"` : ""}>${s.label}</a></li>`)}
  </ul>
</nav>
<main id="main" tabindex="-1">
  <h1>${props.title}</h1>
  ${props.notice ? html`<p class="notice" role="status">${NOTICES[props.notice]}</p>` : ""}
  ${props.body}
</main>
</div>
<footer class="footer"><p>Signed in to ${session.organizationName} through a portal link. This session ends at ${timeTag(session.expiresAt)}.</p></footer>
</body>
</html>`;
}

/** A page outside a session (link problems, expiry): same styles, no navigation. */
export function barePage(props: { title: string; body: HtmlValue; refreshTo?: string }): SafeHtml {
  return html`<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
${props.refreshTo ? html`<meta http-equiv="refresh" content="0;url=${props.refreshTo}">` : ""}
<title>${props.title} · Rollcall</title>
<link rel="stylesheet" href="/portal/assets/portal.css">
</head>
<body>
<main id="main" class="bare">
  <h1>${props.title}</h1>
  ${props.body}
</main>
</body>
</html>`;
}
