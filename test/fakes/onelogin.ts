import { json, serveFake, type FakeServer } from "./fakeServer.ts";

/*
 * A fake OneLogin account, behaving as the API v2 reference documents it:
 * - POST /auth/oauth2/v2/token with `Authorization: client_id:<id>, client_secret:<secret>` and JSON
 *   {grant_type: "client_credentials"} (or the form-encoded variant with client_id/client_secret in the body)
 *   → {access_token, created_at, expires_in: 36000, refresh_token, token_type: "bearer", account_id};
 *   wrong credentials → 401 {status: {error: true, code: 401, type: "Unauthorized", message: "Authentication Failure"}};
 *   a wrong grant_type → 400 {status: {error: true, code: 400, type: "bad request", message: "grant_type is incorrect/absent"}}
 * - GET /api/2/apps/{app_id}/users → [{id, firstname, lastname, username, email}]: the users the app is
 *   assigned to, directly or through a role that has the app (OneLogin grants apps through roles)
 * - GET /api/2/users?user_ids=1,2&fields=… → users {id, username, email, firstname, lastname, status, state,
 *   external_id, …} (status: 0 Unactivated, 1 Active, 2 Suspended, 3 Locked, 4 Password expired,
 *   5 Awaiting password reset, 7 Password pending, 8 Security questions required; state: 0 Unapproved,
 *   1 Approved, 2 Rejected, 3 Unlicensed); `fields` narrows each object (id is always there)
 * - GET /api/2/roles?app_id=… → [{id, name, apps: [app ids]}]
 * - GET /api/2/roles/{role_id}/users → [{id, name, email, username}]; an unknown role → 404
 * - a missing or unknown bearer → 401 {message: "Unauthorized", statusCode: 401, name: "UnauthorizedError"}
 * Paging: `limit` (capped per endpoint), `page`, `cursor`; answers carry Total-Pages, Current-Page,
 * Total-Count, Page-Items, and Before-Cursor / After-Cursor (base64 of "limit=…&page=…", as the docs'
 * example cursor decodes), After-Cursor absent on the last page.
 * Rate limit: X-RateLimit-Limit / -Remaining / -Reset (seconds left in the window) on every API answer;
 * past the limit 429 {statusCode: 429, name: "TooManyRequestsError", message: "Too Many Requests"}
 * (the body's wording is not documented; the status and headers are).
 */

export type FakeOneLoginUser = {
  id: number;
  username: string;
  email: string;
  firstname: string;
  lastname: string;
  status: 0 | 1 | 2 | 3 | 4 | 5 | 7 | 8;
  state: 0 | 1 | 2 | 3;
  external_id: string | null;
};

export type FakeOneLoginState = {
  users: Map<number, FakeOneLoginUser>;
  /** User ids assigned the app directly (not through a role). */
  directAppUsers: Set<number>;
  roles: Map<number, { id: number; name: string; apps: Set<number>; users: Set<number> }>;
};

export type FakeOneLoginOptions = {
  appId: number;
  clientId: string;
  clientSecret: string;
  pageSize?: number;
  /** Requests per rate-limit window, and the window's length. */
  rateLimit?: { limit: number; windowMs: number };
  /** The next N API requests answer 429 (with the rate-limit headers) or 503. */
  fail?: { status: 429 | 503; count: number };
  /** Answer every app users page with an empty list (the IdP answering empty by mistake). */
  emptyAppUsers?: boolean;
};

export type FakeOneLogin = FakeServer & { state: FakeOneLoginState; options: FakeOneLoginOptions; revokeTokens(): void };

export const emptyOneLoginState = (): FakeOneLoginState => ({ users: new Map(), directAppUsers: new Set(), roles: new Map() });

const cursorOf = (limit: number, page: number) => Buffer.from(`limit=${limit}&page=${page}`).toString("base64");

/** Starts a fake OneLogin on a free port. */
export async function startFakeOneLogin(options: FakeOneLoginOptions, state: FakeOneLoginState = emptyOneLoginState()): Promise<FakeOneLogin> {
  const tokens = new Set<string>();
  let window = { start: Date.now(), used: 0 };

  /** Who the app is assigned to: directly, or through any role that has it. */
  function appUserIds(): number[] {
    const ids = new Set(state.directAppUsers);
    for (const role of state.roles.values()) if (role.apps.has(options.appId)) for (const id of role.users) ids.add(id);
    return [...ids].filter((id) => state.users.has(id)).sort((a, b) => a - b);
  }

  /** One page of `items` by `limit`/`page` or `cursor`, with OneLogin's pagination headers. */
  function paged<T>(url: URL, items: T[], cap: number): { body: T[]; headers: Record<string, string> } {
    let limit = Math.min(Number(url.searchParams.get("limit") ?? cap), cap, options.pageSize ?? cap);
    let page = Math.max(1, Number(url.searchParams.get("page") ?? 1));
    const cursor = url.searchParams.get("cursor");
    if (cursor) {
      const decoded = new URLSearchParams(Buffer.from(cursor, "base64").toString("utf8"));
      limit = Number(decoded.get("limit")) || limit;
      page = Number(decoded.get("page")) || 1;
    }
    const body = items.slice((page - 1) * limit, page * limit);
    const totalPages = Math.max(1, Math.ceil(items.length / limit));
    const headers: Record<string, string> = {
      "total-pages": String(totalPages), "current-page": String(page), "total-count": String(items.length), "page-items": String(body.length),
    };
    if (page > 1) headers["before-cursor"] = cursorOf(limit, page - 1);
    if (page < totalPages) headers["after-cursor"] = cursorOf(limit, page + 1);
    return { body, headers };
  }

  const server = await serveFake((url, req, body, res) => {
    const path = url.pathname;
    if (req.method === "POST" && path === "/auth/oauth2/v2/token") {
      let id: string | null = null;
      let secret: string | null = null;
      let grant: unknown;
      const header = /^client_id:\s*([^,]+),\s*client_secret:\s*(.+)$/.exec(req.headers.authorization ?? "");
      if (header) [id, secret] = [header[1]!.trim(), header[2]!.trim()];
      if ((req.headers["content-type"] ?? "").startsWith("application/json")) {
        try {
          grant = (JSON.parse(body) as { grant_type?: unknown }).grant_type;
        } catch {
          grant = undefined;
        }
      } else {
        const form = new URLSearchParams(body);
        grant = form.get("grant_type");
        id ??= form.get("client_id");
        secret ??= form.get("client_secret");
      }
      if (grant !== "client_credentials") return json(res, 400, { status: { error: true, code: 400, type: "bad request", message: "grant_type is incorrect/absent" } });
      if (id !== options.clientId || secret !== options.clientSecret) return json(res, 401, { status: { error: true, code: 401, type: "Unauthorized", message: "Authentication Failure" } });
      const token = `ol_${Math.random().toString(36).slice(2)}`;
      tokens.add(token);
      return json(res, 200, { access_token: token, created_at: new Date().toISOString(), expires_in: 36000, refresh_token: `rt_${token}`, token_type: "bearer", account_id: 555555 });
    }

    const limit = options.rateLimit;
    if (limit && Date.now() - window.start >= limit.windowMs) window = { start: Date.now(), used: 0 };
    const rateHeaders = (): Record<string, string> =>
      limit
        ? {
            "x-ratelimit-limit": String(limit.limit),
            "x-ratelimit-remaining": String(Math.max(0, limit.limit - window.used)),
            "x-ratelimit-reset": String(Math.max(0, Math.ceil((window.start + limit.windowMs - Date.now()) / 1000))),
          }
        : {};
    const send = (status: number, payload: unknown, extra: Record<string, string> = {}) => json(res, status, payload, { ...rateHeaders(), ...extra });

    const auth = /^bearer[: ]\s*(\S+)$/i.exec(req.headers.authorization ?? "");
    if (!auth || !tokens.has(auth[1]!)) return send(401, { message: "Unauthorized", statusCode: 401, name: "UnauthorizedError" });
    if (options.fail && options.fail.count > 0) {
      options.fail.count -= 1;
      if (options.fail.status === 503) return send(503, { message: "Service Unavailable", statusCode: 503, name: "ServiceUnavailableError" });
      return send(429, { message: "Too Many Requests", statusCode: 429, name: "TooManyRequestsError" }, { "x-ratelimit-remaining": "0", "x-ratelimit-reset": "1" });
    }
    if (limit) {
      if (window.used >= limit.limit) return send(429, { message: "Too Many Requests", statusCode: 429, name: "TooManyRequestsError" });
      window.used += 1;
    }

    let m: RegExpExecArray | null;
    if ((m = /^\/api\/2\/apps\/([^/]+)\/users$/.exec(path))) {
      if (Number(m[1]) !== options.appId) return send(404, { message: "Not Found", statusCode: 404, name: "NotFoundError" });
      if (options.emptyAppUsers) return send(200, [], { "total-pages": "1", "current-page": "1", "total-count": "0", "page-items": "0" });
      const users = appUserIds().map((id) => state.users.get(id)!).map((u) => ({ firstname: u.firstname, id: u.id, email: u.email, lastname: u.lastname, username: u.username }));
      const p = paged(url, users, 1000);
      return send(200, p.body, p.headers);
    }
    if (path === "/api/2/users") {
      const ids = url.searchParams.get("user_ids");
      const wanted = ids ? new Set(ids.split(",").map(Number)) : null;
      const fields = url.searchParams.get("fields")?.split(",").map((f) => f.trim());
      const users = [...state.users.values()].filter((u) => !wanted || wanted.has(u.id)).sort((a, b) => a.id - b.id).map((u) => {
        const full: Record<string, unknown> = { ...u, created_at: "2026-01-01T00:00:00.000Z", updated_at: "2026-12-01T00:00:00.000Z", last_login: null, group_id: null, directory_id: null, member_of: null, samaccountname: null };
        return fields ? Object.fromEntries(Object.entries(full).filter(([k]) => k === "id" || fields.includes(k))) : full;
      });
      const p = paged(url, users, 50);
      return send(200, p.body, p.headers);
    }
    if (path === "/api/2/roles") {
      const app = url.searchParams.get("app_id");
      const roles = [...state.roles.values()].filter((r) => app === null || r.apps.has(Number(app))).sort((a, b) => a.id - b.id).map((r) => ({ id: r.id, name: r.name, apps: [...r.apps] }));
      const p = paged(url, roles, 650);
      return send(200, p.body, p.headers);
    }
    if ((m = /^\/api\/2\/roles\/([^/]+)\/users$/.exec(path))) {
      const role = state.roles.get(Number(m[1]));
      if (!role) return send(404, { message: "Not Found", statusCode: 404, name: "NotFoundError" });
      const users = [...role.users].sort((a, b) => a - b).flatMap((id) => {
        const u = state.users.get(id);
        return u ? [{ id: u.id, name: `${u.firstname} ${u.lastname}`, email: u.email, username: u.username }] : [];
      });
      const p = paged(url, users, 1000);
      return send(200, p.body, p.headers);
    }
    return send(404, { message: "Not Found", statusCode: 404, name: "NotFoundError" });
  });
  return { ...server, state, options, revokeTokens: () => tokens.clear() };
}
