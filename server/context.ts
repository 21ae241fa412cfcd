import type { ParameterizedContext } from "koa";
import type { Logger } from "./logger.ts";

/** The organization and connection a request acts for, set by the auth middleware. */
export type Tenant = {
  organizationId: string;
  enterpriseConnectionId: string;
  tokenId: string | null;
  rateLimit: number;
  /** The organization's current mapping version when the request was authenticated (null = defaults). */
  mappingVersion: number | null;
};

/** Per-request state; lives on ctx.state, never on a shared object. */
export type AppState = {
  requestId: string;
  log: Logger;
  surface: "scim" | "admin" | "ops";
  tenant?: Tenant;
  /** Set by handlers so metrics and the SCIM log can label the request without parsing the URL again. */
  scimResource?: string;
  /** Set by the error handler for the SCIM request log. */
  errorDetail?: string;
  body?: unknown;
};

export type AppContext = ParameterizedContext<AppState>;

/** Time as a dependency, so schedules and retries are testable without sleeping. */
export type Clock = { now(): Date };

export const systemClock: Clock = { now: () => new Date() };
