import type { HtmlValue } from "./html.ts";
import type { PortalContext } from "./context.ts";
import { isNoticeKey, layout, type SectionPath } from "./views/layout.ts";

/** Renders a full portal page for the session, with the notice named by `?notice=` if it is a known one. */
export function renderPage(ctx: PortalContext, section: SectionPath, title: string, body: HtmlValue, status = 200): void {
  const notice = isNoticeKey(ctx.query.notice) ? ctx.query.notice : undefined;
  ctx.status = status;
  ctx.type = "text/html; charset=utf-8";
  ctx.body = layout({ session: ctx.state.portal, section, title, notice, body }).value;
}

/** A redirect after a successful form post (303, so reloading does not post again). */
export function seeOther(ctx: PortalContext, location: string): void {
  ctx.status = 303;
  ctx.redirect(location);
}

/** A single query value as a string ('' when absent or repeated). */
export function queryString(ctx: PortalContext, name: string): string {
  const value = ctx.query[name];
  return typeof value === "string" ? value : "";
}
