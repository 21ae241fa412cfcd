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
 * - GET /v1.0/users/delta?$select=…, GET /v1.0/groups/delta?$select=displayName,members (delta query): a round of pages
 *   linked by @odata.nextLink ($skiptoken), the last one carrying @odata.deltaLink ($deltatoken); `$deltatoken=latest`
 *   answers the delta link of now with no data. A later round lists what changed since its token: a new user whole, a
 *   changed one as {id, …the changed properties} (Graph promises "at least the updated properties"), a deleted one as
 *   {id, @removed: {reason: "changed"}} (soft-deleted, in deletedItems) or {reason: "deleted"}; a group whose members
 *   changed as {id, displayName, members@delta: [{@odata.type: "#microsoft.graph.user", id, @removed?: {reason: "deleted"}}]}.
 *   A token the fake has dropped (expireDeltaTokens) answers 410 Gone with a Location to start over and code resyncRequired.
 * - GET /v1.0/users/{id}/memberOf/microsoft.graph.group → {value: [group {id, displayName}]}
 * - GET /v1.0/directory/deletedItems/{id} → the soft-deleted user, 404 once it is gone for good
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
  /** Soft-deleted users (deletedItems): gone from `users`, still restorable. */
  deleted: Map<string, FakeGraphUser>;
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

export type FakeGraph = FakeServer & {
  state: FakeGraphState;
  options: FakeGraphOptions;
  /** Forgets every delta token handed out: the next round asks for a resync (410 Gone), as after Graph's seven days. */
  expireDeltaTokens(): void;
};

export const emptyGraphState = (): FakeGraphState => ({ users: new Map(), groups: new Map(), assignments: new Set(), deleted: new Map() });

/** What a delta token remembers: the users and groups as they were when the round that handed it out began. */
type Snapshot = { users: Map<string, FakeGraphUser>; groups: Map<string, { displayName: string; members: Set<string> }> };

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

  const snapshots = new Map<string, Snapshot>();
  /** Rounds being paged: skiptoken → the round's remaining entries and the token its last page hands out. */
  const rounds = new Map<string, { items: unknown[]; deltaToken: string }>();
  let serial = 0;
  const token = (kind: string) => `${kind}${++serial}${Math.random().toString(36).slice(2, 10)}`;
  const snapshot = (): Snapshot => ({
    users: new Map([...state.users].map(([id, u]) => [id, { ...u }])),
    groups: new Map([...state.groups].map(([id, g]) => [id, { displayName: g.displayName, members: new Set(g.members) }])),
  });

  function userChanges(before: Snapshot | null): unknown[] {
    const items: unknown[] = [];
    for (const [id, u] of [...state.users].sort(([a], [b]) => a.localeCompare(b))) {
      const was = before?.users.get(id);
      if (!was) {
        items.push(select(u));
        continue;
      }
      const changed = Object.fromEntries(Object.entries(u).filter(([k, v]) => (was as Record<string, unknown>)[k] !== v));
      if (Object.keys(changed).length > 0) items.push({ id, ...changed });
    }
    for (const id of before?.users.keys() ?? []) {
      if (!state.users.has(id)) items.push({ id, "@removed": { reason: state.deleted.has(id) ? "changed" : "deleted" } });
    }
    return items;
  }

  function groupChanges(before: Snapshot | null): unknown[] {
    const items: unknown[] = [];
    const member = (id: string, removed = false) => ({ "@odata.type": "#microsoft.graph.user", id, ...(removed ? { "@removed": { reason: "deleted" } } : {}) });
    for (const [id, g] of [...state.groups].sort(([a], [b]) => a.localeCompare(b))) {
      const was = before?.groups.get(id);
      const added = [...g.members].filter((m) => !was?.members.has(m)).sort();
      const removed = [...(was?.members ?? [])].filter((m) => !g.members.has(m)).sort();
      if (was && was.displayName === g.displayName && added.length === 0 && removed.length === 0) continue;
      const delta = [...added.map((m) => member(m)), ...removed.map((m) => member(m, true))];
      items.push({ id, displayName: g.displayName, ...(delta.length > 0 ? { "members@delta": delta } : {}) });
    }
    for (const id of before?.groups.keys() ?? []) if (!state.groups.has(id)) items.push({ id, "@removed": { reason: "changed" } });
    return items;
  }

  /** One page of a delta round: the first (a token or none given) or a later one ($skiptoken). */
  function delta(url: URL, res: Parameters<typeof json>[0], changes: (before: Snapshot | null) => unknown[]) {
    const base = `${self.url}${url.pathname}`;
    const skip = url.searchParams.get("$skiptoken");
    let round;
    if (skip !== null) {
      round = rounds.get(skip);
      if (!round) return json(res, 400, graphError("BadRequest", "The skip token is invalid."));
      rounds.delete(skip);
    } else {
      const given = url.searchParams.get("$deltatoken");
      const deltaToken = token("dt");
      if (given === "latest") {
        snapshots.set(deltaToken, snapshot());
        return json(res, 200, { "@odata.context": `${self.url}/v1.0/$metadata`, value: [], "@odata.deltaLink": `${base}?$deltatoken=${deltaToken}` });
      }
      const before = given === null ? null : snapshots.get(given);
      if (before === undefined) {
        return json(res, 410, graphError("resyncRequired", "Resync required. Replace any local cached copies of the directory objects with the results of a new full sync."), { location: `${base}?$deltatoken=` });
      }
      snapshots.set(deltaToken, snapshot());
      round = { items: changes(before), deltaToken };
    }
    const value = round.items.slice(0, pageSize);
    const rest = round.items.slice(pageSize);
    const body: Record<string, unknown> = { "@odata.context": `${self.url}/v1.0/$metadata`, value };
    if (rest.length > 0) {
      const skipToken = token("st");
      rounds.set(skipToken, { items: rest, deltaToken: round.deltaToken });
      body["@odata.nextLink"] = `${base}?$skiptoken=${skipToken}`;
    } else {
      body["@odata.deltaLink"] = `${base}?$deltatoken=${round.deltaToken}`;
    }
    return json(res, 200, body);
  }

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
    if (path === "/v1.0/users/delta") return delta(url, res, userChanges);
    if (path === "/v1.0/groups/delta") return delta(url, res, groupChanges);
    if ((m = /^\/v1\.0\/users\/([^/]+)\/memberOf\/microsoft\.graph\.group$/.exec(path))) {
      const id = decodeURIComponent(m[1]!);
      if (!state.users.has(id)) return json(res, 404, graphError("Request_ResourceNotFound", `Resource '${m[1]}' does not exist or one of its queried reference-property objects are not present.`));
      const groups = [...state.groups.values()].filter((g) => g.members.has(id)).sort((a, b) => a.id.localeCompare(b.id));
      return json(res, 200, paged(url, groups.map((g) => ({ "@odata.type": "#microsoft.graph.group", id: g.id, displayName: g.displayName }))));
    }
    if ((m = /^\/v1\.0\/directory\/deletedItems\/([^/]+)$/.exec(path))) {
      const user = state.deleted.get(decodeURIComponent(m[1]!));
      if (!user) return json(res, 404, graphError("Request_ResourceNotFound", `Resource '${m[1]}' does not exist or one of its queried reference-property objects are not present.`));
      return json(res, 200, { "@odata.type": "#microsoft.graph.user", ...select(user) });
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
  return { ...server, state, options, expireDeltaTokens: () => snapshots.clear() };
}
