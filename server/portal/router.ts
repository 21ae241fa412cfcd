import Router from "@koa/router";
import type { Middleware, Next } from "koa";
import type { AppContext } from "../context.ts";
import type { AppDeps } from "../deps.ts";
import type { AppState } from "../context.ts";
import type { PortalState } from "./context.ts";
import { assetRoutes } from "./assets.ts";
import { portalBody } from "./body.ts";
import { sessionCookie } from "./cookies.ts";
import { portalErrors } from "./errors.ts";
import { html } from "./html.ts";
import { portalSecurityHeaders } from "./securityHeaders.ts";
import { portalSessionGuard } from "./sessionGuard.ts";
import { startPortalSession } from "./sessions.ts";
import { barePage } from "./views/layout.ts";
import { setupRoutes } from "./routes/setupRoutes.ts";
import { logRoutes } from "./routes/logRoutes.ts";
import { peopleRoutes } from "./routes/peopleRoutes.ts";
import { mappingRoutes } from "./routes/mappingRoutes.ts";
import { webhookRoutes } from "./routes/webhookRoutes.ts";
import { reconcileRoutes } from "./routes/reconcileRoutes.ts";
import { directoryRoutes } from "./routes/directoryRoutes.ts";

type AnyMiddleware = (ctx: AppContext, next: Next) => unknown;

/** Runs middleware in order, like Koa's own stack, then the rest of the app's. */
function chain(middleware: AnyMiddleware[]): Middleware<AppState> {
  return (ctx, next) => {
    const dispatch = (i: number): Promise<unknown> => (i === middleware.length ? next() : Promise.resolve(middleware[i]!(ctx, () => dispatch(i + 1))));
    return dispatch(0);
  };
}

/** Opening a portal link: exchange the one-time code for a session cookie, then leave the code's URL. */
function startRoute(router: Router<AppState>, deps: AppDeps): void {
  router.get("/portal/start", async (ctx) => {
    const code = typeof ctx.query.code === "string" ? ctx.query.code : "";
    const started = await startPortalSession(deps.db.sequelize, code, deps.clock.now());
    ctx.type = "text/html; charset=utf-8";
    if (!started) {
      ctx.status = 401;
      ctx.body = barePage({
        title: "This portal link does not work",
        body: html`<p>The link is invalid, was already used, or has expired. Portal links work once and only for a few minutes: ask your application for a new one.</p>`,
      }).value;
      return;
    }
    ctx.set("Set-Cookie", sessionCookie(started.secret, { secure: deps.config.env === "production", expires: started.session.expires_at! }));
    // A page, not a 302: a SameSite=Strict cookie is not sent on a redirect that a cross-site click
    // started, but it is on this same-origin refresh. Either way the code leaves the address bar.
    ctx.body = barePage({
      title: "Opening the portal",
      refreshTo: "/portal/setup",
      body: html`<p>Signed in. <a href="/portal/setup">Continue to the portal</a>.</p>`,
    }).value;
  });
}

/**
 * The admin portal under /portal: server-rendered pages for the customer's IT admin, scoped to the
 * organization of the session the one-time link started. Mounted before the admin API's JSON body
 * reader, because portal forms post urlencoded bodies.
 */
export function buildPortal(deps: AppDeps): Middleware<AppState> {
  const open = new Router<AppState>();
  assetRoutes(open);
  startRoute(open, deps);

  const session = new Router<PortalState>({ prefix: "/portal" });
  setupRoutes(session, deps);
  logRoutes(session, deps);
  peopleRoutes(session, deps);
  mappingRoutes(session, deps);
  webhookRoutes(session, deps);
  reconcileRoutes(session, deps);
  directoryRoutes(session, deps);

  return chain([
    portalSecurityHeaders(),
    portalErrors(),
    portalBody(),
    open.routes(),
    portalSessionGuard(deps.db.sequelize, deps.clock, deps.config.publicUrl),
    session.routes(),
    session.allowedMethods({ throw: true }),
  ] as AnyMiddleware[]);
}
