import { createLocalJWKSet, jwtVerify, type JSONWebKeySet } from "jose";
import { json, serveFake, type FakeServer } from "./fakeServer.ts";

/*
 * A fake Okta org, behaving as the Management API reference documents it:
 * - GET /api/v1/apps/{appId}/users?limit&after&expand=user → array of app users
 *   {id, externalId, created, lastUpdated, scope: "USER"|"GROUP", status, syncState, credentials: {userName},
 *    profile, _embedded: {user: {id, status, created, lastUpdated, profile: {login, email, firstName, lastName}}}}
 * - GET /api/v1/apps/{appId}/users/{userId}?expand=user → one app user, 404 E0000007 when not assigned
 * - GET /api/v1/apps/{appId}/groups?limit&after&expand=group → [{id, priority, profile, _embedded: {group: {id, profile: {name, description}}}}]
 * - GET /api/v1/groups/{id} → {id, type: "OKTA_GROUP", profile: {name, description}}
 * - GET /api/v1/groups/{id}/users?limit&after → users {id, status, profile}
 * - GET /api/v1/users?search=lastUpdated gt "…" → users
 * - POST /oauth2/v1/token (client_credentials + client_assertion private_key_jwt) → {token_type: "Bearer", expires_in, access_token, scope}
 * Paging: `Link: <…?after=cursor&limit=n>; rel="next"` (plus rel="self"). Errors: {errorCode, errorSummary,
 * errorLink, errorId, errorCauses}: 401 E0000011 "Invalid token provided", 429 E0000047 with
 * X-Rate-Limit-Limit / -Remaining / -Reset (epoch seconds) on every answer.
 */

export type FakeOktaUser = {
  id: string;
  login: string;
  email: string;
  firstName: string;
  lastName: string;
  status: "ACTIVE" | "SUSPENDED" | "DEPROVISIONED" | "STAGED" | "PROVISIONED" | "LOCKED_OUT";
  lastUpdated: string;
};

export type FakeOktaState = {
  users: Map<string, FakeOktaUser>;
  /** userId → how the user is assigned to the app. */
  appUsers: Map<string, "USER" | "GROUP">;
  groups: Map<string, { id: string; name: string; members: Set<string> }>;
  /** Group ids assigned (pushed) to the app. */
  appGroups: Set<string>;
};

export type FakeOktaOptions = {
  appId: string;
  apiToken?: string;
  /** OAuth 2.0 service app: client id and the public JWKS of its key pair. */
  oauthClient?: { clientId: string; jwks: JSONWebKeySet };
  pageSize?: number;
  /** Requests per rate-limit window, and the window's length. */
  rateLimit?: { limit: number; windowMs: number };
  /** The next N requests answer 503 (a blip), or 429 regardless of the budget. */
  fail?: { status: 503 | 429; count: number };
  /** Answer every app users page with an empty list (the "IdP answered empty by mistake" scenario). */
  emptyAppUsers?: boolean;
  /** Sleeps a 429 would ask for are real: keep windows short in tests. */
  now?: () => number;
  /** Keep sorted listings between requests (a bench's 100,000 users); call invalidate() after changes. */
  cacheListings?: boolean;
};

export type FakeOkta = FakeServer & {
  state: FakeOktaState;
  options: FakeOktaOptions;
  bump(userId: string, at?: Date): void;
  /** Drops the sorted listings kept between requests (with `cacheListings`), after changing the state. */
  invalidate(): void;
};

/** A new, empty org state. */
export const emptyOktaState = (): FakeOktaState => ({ users: new Map(), appUsers: new Map(), groups: new Map(), appGroups: new Set() });

const oktaError = (code: string, summary: string) => ({ errorCode: code, errorSummary: summary, errorLink: code, errorId: `oae${Math.random().toString(36).slice(2, 12)}`, errorCauses: [] });

/** Starts a fake Okta on a free port. */
export async function startFakeOkta(options: FakeOktaOptions, state: FakeOktaState = emptyOktaState()): Promise<FakeOkta> {
  const now = options.now ?? Date.now;
  const pageSize = options.pageSize ?? 200;
  const tokens = new Set<string>();
  let window = { start: now(), used: 0 };
  let self: FakeServer;

  const userJson = (u: FakeOktaUser) => ({
    id: u.id, status: u.status, created: "2026-01-01T00:00:00.000Z", lastUpdated: u.lastUpdated,
    profile: { login: u.login, email: u.email, firstName: u.firstName, lastName: u.lastName },
  });
  const appUserJson = (u: FakeOktaUser, scope: "USER" | "GROUP") => ({
    id: u.id, externalId: null, created: "2026-01-01T00:00:00.000Z", lastUpdated: u.lastUpdated, scope,
    status: u.status === "DEPROVISIONED" ? "INACTIVE" : "PROVISIONED", syncState: "SYNCHRONIZED",
    credentials: { userName: u.login }, profile: { email: u.email, given_name: u.firstName, family_name: u.lastName },
    _embedded: { user: userJson(u) },
  });

  /** One page of `items` from `after`, with Okta's Link header. */
  function page<T extends { id: string }>(url: URL, items: T[]): { body: T[]; link: string } {
    const limit = Math.min(Number(url.searchParams.get("limit") ?? pageSize), pageSize);
    const after = url.searchParams.get("after");
    let start = 0;
    if (after) {
      // items are sorted by id: the first one after the cursor, by binary search.
      let lo = 0;
      let hi = items.length;
      while (lo < hi) {
        const mid = (lo + hi) >> 1;
        if (items[mid]!.id > after) hi = mid;
        else lo = mid + 1;
      }
      start = lo < items.length ? lo : -1;
    }
    const slice = start < 0 ? [] : items.slice(start, start + limit);
    const links = [`<${self.url}${url.pathname}${url.search}>; rel="self"`];
    if (start >= 0 && start + limit < items.length) {
      const next = new URL(url.toString());
      next.searchParams.set("after", slice[slice.length - 1]!.id);
      next.searchParams.set("limit", String(limit));
      links.push(`<${self.url}${next.pathname}${next.search}>; rel="next"`);
    }
    return { body: slice, link: links.join(", ") };
  }

  const sortedNow = <T extends { id: string }>(items: Iterable<T>) => [...items].sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
  const listings = new Map<string, unknown[]>();
  /** A sorted listing, cached under `key` when the options ask for it. */
  function sortedAs<T extends { id: string }>(key: string, items: () => Iterable<T>): T[] {
    if (!options.cacheListings) return sortedNow(items());
    let cached = listings.get(key) as T[] | undefined;
    if (!cached) listings.set(key, (cached = sortedNow(items())));
    return cached;
  }
  const sorted = sortedNow;

  const server = await serveFake(async (url, req, body, res) => {
    const limit = options.rateLimit;
    if (limit && now() - window.start >= limit.windowMs) window = { start: now(), used: 0 };
    const rateHeaders = (): Record<string, string> =>
      limit
        ? {
            "x-rate-limit-limit": String(limit.limit),
            "x-rate-limit-remaining": String(Math.max(0, limit.limit - window.used)),
            "x-rate-limit-reset": String(Math.ceil((window.start + limit.windowMs) / 1000)),
          }
        : {};
    if (options.fail && options.fail.count > 0) {
      options.fail.count -= 1;
      if (options.fail.status === 503) return json(res, 503, oktaError("E0000009", "Internal Server Error"), rateHeaders());
      return json(res, 429, oktaError("E0000047", "API call exceeded rate limit due to too many requests."), { ...rateHeaders(), "x-rate-limit-remaining": "0" });
    }
    if (limit) {
      if (window.used >= limit.limit) return json(res, 429, oktaError("E0000047", "API call exceeded rate limit due to too many requests."), rateHeaders());
      window.used += 1;
    }
    const send = (status: number, payload: unknown, extra: Record<string, string> = {}) => json(res, status, payload, { ...rateHeaders(), ...extra });

    if (req.method === "POST" && url.pathname === "/oauth2/v1/token") {
      const form = new URLSearchParams(body);
      const client = options.oauthClient;
      if (!client || form.get("client_assertion_type") !== "urn:ietf:params:oauth:client-assertion-type:jwt-bearer") {
        return send(401, { error: "invalid_client", error_description: "The client_assertion_type is invalid." });
      }
      try {
        const { payload } = await jwtVerify(form.get("client_assertion") ?? "", createLocalJWKSet(client.jwks), {
          issuer: client.clientId, subject: client.clientId, audience: `${self.url}/oauth2/v1/token`,
        });
        if (!payload.jti) throw new Error("jti missing");
      } catch {
        return send(401, { error: "invalid_client", error_description: "The client_assertion signature is invalid." });
      }
      const token = `okta_at_${Math.random().toString(36).slice(2)}`;
      tokens.add(token);
      return send(200, { token_type: "Bearer", expires_in: 3600, access_token: token, scope: form.get("scope") });
    }

    const auth = req.headers.authorization ?? "";
    const authorized = (options.apiToken !== undefined && auth === `SSWS ${options.apiToken}`) || (auth.startsWith("Bearer ") && tokens.has(auth.slice(7)));
    if (!authorized) return send(401, oktaError("E0000011", "Invalid token provided"));

    const path = url.pathname;
    const appPrefix = `/api/v1/apps/${options.appId}`;
    let m: RegExpExecArray | null;
    if (path === `${appPrefix}/users`) {
      if (options.emptyAppUsers) return send(200, []);
      const assigned = sortedAs("appUsers", () => [...state.appUsers.keys()].map((id) => state.users.get(id)!).filter(Boolean));
      const p = page(url, assigned);
      return send(200, p.body.map((u) => appUserJson(u, state.appUsers.get(u.id)!)), { link: p.link });
    }
    if ((m = new RegExp(`^${appPrefix}/users/([^/]+)$`).exec(path))) {
      const user = state.users.get(decodeURIComponent(m[1]!));
      const scope = user && state.appUsers.get(user.id);
      if (!user || !scope) return send(404, oktaError("E0000007", `Not found: Resource not found: ${m[1]} (AppUser)`));
      return send(200, appUserJson(user, scope));
    }
    if (path === `${appPrefix}/groups`) {
      const assigned = sortedAs("appGroups", () => [...state.appGroups].map((id) => state.groups.get(id)!).filter(Boolean));
      const p = page(url, assigned);
      return send(200, p.body.map((g) => ({ id: g.id, priority: 0, profile: {}, _embedded: { group: { id: g.id, type: "OKTA_GROUP", profile: { name: g.name, description: null } } } })), { link: p.link });
    }
    if ((m = /^\/api\/v1\/groups\/([^/]+)\/users$/.exec(path))) {
      const group = state.groups.get(decodeURIComponent(m[1]!));
      if (!group) return send(404, oktaError("E0000007", `Not found: Resource not found: ${m[1]} (UserGroup)`));
      const p = page(url, sortedAs(`members:${group.id}`, () => [...group.members].map((id) => state.users.get(id)!).filter(Boolean)));
      return send(200, p.body.map(userJson), { link: p.link });
    }
    if ((m = /^\/api\/v1\/groups\/([^/]+)$/.exec(path))) {
      const group = state.groups.get(decodeURIComponent(m[1]!));
      if (!group) return send(404, oktaError("E0000007", `Not found: Resource not found: ${m[1]} (UserGroup)`));
      return send(200, { id: group.id, type: "OKTA_GROUP", profile: { name: group.name, description: null } });
    }
    if (path === "/api/v1/users") {
      const search = /^lastUpdated gt "([^"]+)"$/.exec(url.searchParams.get("search") ?? "");
      const users = sorted([...state.users.values()].filter((u) => !search || u.lastUpdated > search[1]!));
      const p = page(url, users);
      return send(200, p.body.map(userJson), { link: p.link });
    }
    return send(404, oktaError("E0000022", "The endpoint does not support the provided HTTP method"));
  });
  self = server;
  return {
    ...server,
    state,
    options,
    bump(userId, at = new Date(now())) {
      const user = state.users.get(userId);
      if (user) user.lastUpdated = at.toISOString();
    },
    invalidate() {
      listings.clear();
    },
  };
}
