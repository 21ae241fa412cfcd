import { json, serveFake, type FakeServer } from "./fakeServer.ts";

/*
 * A fake Microsoft identity platform + Graph v1.0, as documented:
 * - POST /{tenant}/oauth2/v2.0/token (grant_type=client_credentials, client_id, client_secret,
 *   scope=…/.default) → {token_type: "Bearer", expires_in, ext_expires_in, access_token};
 *   a wrong secret → 401 {error: "invalid_client", error_description: "AADSTS7000215: Invalid client secret provided. …", error_codes: [7000215]}
 * - GET /v1.0/servicePrincipals/{id}/appRoleAssignedTo → {"@odata.context", value: [appRoleAssignment
 *   {id, appRoleId, createdDateTime, principalDisplayName, principalId, principalType: "User"|"Group", resourceDisplayName, resourceId}],
 *   "@odata.nextLink"?}
 * - GET /v1.0/users/{id}?$select=… → user; 404 {error: {code: "Request_ResourceNotFound", message}}
 * - GET /v1.0/groups/{id}/members/microsoft.graph.user?$select=… → {value: [user], "@odata.nextLink"?}
 * - bad/expired bearer → 401 {error: {code: "InvalidAuthenticationToken", message: "Access token has expired or is not yet valid.", innerError: {date, "request-id", "client-request-id"}}}
 * - throttled → 429 {error: {code: "TooManyRequests", message: "Too many requests"}} with Retry-After (seconds)
 * Pages are forced small with a $skiptoken cursor, as Graph's own nextLink carries one.
 */

export type FakeGraphUser = {
  id: string;
  userPrincipalName: string;
  mail: string;
  mailNickname: string;
  givenName: string;
  surname: string;
  accountEnabled: boolean;
};

export type FakeGraphState = {
  users: Map<string, FakeGraphUser>;
  groups: Map<string, { id: string; displayName: string; members: Set<string> }>;
  /** principal ids (users or groups) assigned to the app's service principal. */
  assignments: Set<string>;
};

export type FakeGraphOptions = {
  tenantId: string;
  servicePrincipalId: string;
  clientId: string;
  clientSecret: string;
  pageSize?: number;
  /** The next N Graph requests are throttled (429 + Retry-After: 1) or fail (503). */
  fail?: { status: 429 | 503; count: number };
};

export type FakeGraph = FakeServer & { state: FakeGraphState; options: FakeGraphOptions };

export const emptyGraphState = (): FakeGraphState => ({ users: new Map(), groups: new Map(), assignments: new Set() });

const graphError = (code: string, message: string) => ({
  error: { code, message, innerError: { date: new Date().toISOString(), "request-id": "7d0b5a5c-0000-4000-8000-000000000000", "client-request-id": "7d0b5a5c-0000-4000-8000-000000000000" } },
});

/** Starts a fake Entra ID / Graph on a free port (one origin serves both the login and Graph hosts). */
export async function startFakeGraph(options: FakeGraphOptions, state: FakeGraphState = emptyGraphState()): Promise<FakeGraph> {
  const pageSize = options.pageSize ?? 100;
  const tokens = new Set<string>();
  let self: FakeServer;

  function paged<T>(url: URL, items: T[]) {
    const top = Math.min(Number(url.searchParams.get("$top") ?? pageSize), pageSize);
    const skip = Number(url.searchParams.get("$skiptoken") ?? 0);
    const value = items.slice(skip, skip + top);
    const body: Record<string, unknown> = { "@odata.context": `${self.url}/v1.0/$metadata`, value };
    if (skip + top < items.length) {
      const next = new URL(url.toString());
      next.searchParams.set("$skiptoken", String(skip + top));
      body["@odata.nextLink"] = `${self.url}${next.pathname}${next.search}`;
    }
    return body;
  }
  const select = (u: FakeGraphUser) => ({ ...u, employeeId: null });

  const server = await serveFake((url, req, body, res) => {
    const path = url.pathname;
    if (req.method === "POST" && path === `/${options.tenantId}/oauth2/v2.0/token`) {
      const form = new URLSearchParams(body);
      if (form.get("grant_type") !== "client_credentials" || form.get("client_id") !== options.clientId || form.get("client_secret") !== options.clientSecret) {
        return json(res, 401, {
          error: "invalid_client",
          error_description: `AADSTS7000215: Invalid client secret provided. Ensure the secret being sent in the request is the client secret value, not the client secret ID, for a secret added to app '${options.clientId}'.`,
          error_codes: [7000215],
        });
      }
      const token = `eyJ0eXAi.${Math.random().toString(36).slice(2)}`;
      tokens.add(token);
      return json(res, 200, { token_type: "Bearer", expires_in: 3599, ext_expires_in: 3599, access_token: token });
    }
    if (req.method === "POST" && path.endsWith("/oauth2/v2.0/token")) {
      return json(res, 400, { error: "invalid_request", error_description: "AADSTS90002: Tenant not found." });
    }
    const auth = req.headers.authorization ?? "";
    if (!auth.startsWith("Bearer ") || !tokens.has(auth.slice(7))) return json(res, 401, graphError("InvalidAuthenticationToken", "Access token has expired or is not yet valid."));
    if (options.fail && options.fail.count > 0) {
      options.fail.count -= 1;
      if (options.fail.status === 429) return json(res, 429, graphError("TooManyRequests", "Too many requests"), { "retry-after": "1" });
      return json(res, 503, graphError("ServiceUnavailable", "Service Unavailable"));
    }
    let m: RegExpExecArray | null;
    if (path === `/v1.0/servicePrincipals/${options.servicePrincipalId}/appRoleAssignedTo`) {
      const items = [...state.assignments].sort().flatMap((id) => {
        const user = state.users.get(id);
        const group = state.groups.get(id);
        if (!user && !group) return [];
        return [{
          id: `assign-${id}`, appRoleId: "00000000-0000-0000-0000-000000000000", createdDateTime: "2026-01-01T00:00:00Z",
          principalDisplayName: user ? `${user.givenName} ${user.surname}` : group!.displayName, principalId: id,
          principalType: user ? "User" : "Group", resourceDisplayName: "Rollcall", resourceId: options.servicePrincipalId,
        }];
      });
      return json(res, 200, paged(url, items));
    }
    if ((m = /^\/v1\.0\/users\/([^/]+)$/.exec(path))) {
      const user = state.users.get(decodeURIComponent(m[1]!));
      if (!user) return json(res, 404, graphError("Request_ResourceNotFound", `Resource '${m[1]}' does not exist or one of its queried reference-property objects are not present.`));
      return json(res, 200, select(user));
    }
    if ((m = /^\/v1\.0\/groups\/([^/]+)\/members\/microsoft\.graph\.user$/.exec(path))) {
      const group = state.groups.get(decodeURIComponent(m[1]!));
      if (!group) return json(res, 404, graphError("Request_ResourceNotFound", `Resource '${m[1]}' does not exist or one of its queried reference-property objects are not present.`));
      return json(res, 200, paged(url, [...group.members].sort().map((id) => state.users.get(id)).filter((u): u is FakeGraphUser => u !== undefined).map(select)));
    }
    return json(res, 400, graphError("BadRequest", `Resource not found for the segment '${path}'.`));
  });
  self = server;
  return { ...server, state, options };
}
