import type { ParameterizedContext } from "koa";
import type { AppState } from "../context.ts";

/** The signed-in portal session a request acts for; set by the session guard. */
export type PortalSession = {
  id: string;
  organizationId: string;
  organizationName: string;
  expiresAt: Date;
  /** Embedded in forms and sent by scripts; checked on every mutation. */
  csrfToken: string;
};

/** Request state of portal routes: the session, and the body the portal's own reader parsed. */
export type PortalState = AppState & { portal: PortalSession; form: Record<string, string>; json: unknown };

export type PortalContext = ParameterizedContext<PortalState>;
