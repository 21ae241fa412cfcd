import type { OneLoginCredentials, OneLoginSettings } from "../settings.ts";
import { type DirectoryConnector, type DirectoryUser } from "./types.ts";
import { DirectoryHttp, getWithBearer, requestAccessToken, type HttpOptions } from "./http.ts";

/*
 * OneLogin API v2 (shapes recorded in test/fakes/onelogin.ts):
 * - POST /auth/oauth2/v2/token, `Authorization: client_id:<id>, client_secret:<secret>`, JSON
 *   {grant_type: "client_credentials"} → {access_token, created_at, expires_in: 36000, refresh_token,
 *   token_type: "bearer", account_id}; bad credentials → 401 {status: {error: true, code: 401,
 *   type: "Unauthorized", message: "Authentication Failure"}}.
 * - GET /api/2/apps/{app_id}/users → [{id, firstname, lastname, username, email}] (who is assigned).
 * - GET /api/2/users?user_ids=…&fields=… → [{id, username, email, firstname, lastname, status, state, external_id}]
 *   (the status the app users list lacks; one call per page of app users).
 * - GET /api/2/roles?app_id={app_id} → [{id, name, apps}] (the roles that grant the app: its teams)
 * - GET /api/2/roles/{id}/users → [{id, name, …}]
 * Errors on the API: 401 {message: "Unauthorized", statusCode: 401, name: "UnauthorizedError"}.
 * Paging: `limit` and `cursor`; the next page's cursor is the After-Cursor response header (absent
 * on the last page). Rate limit: X-RateLimit-Limit / -Remaining / -Reset (seconds left in the
 * window) on every answer, 429 past it.
 * What OneLogin's SCIM Provisioner sends by default (test/fixtures/idp/onelogin.json): userName =
 * the SCIM Username parameter (the email unless the admin maps it to the username), no externalId;
 * roles arrive as team names on the user's `groups`.
 */

const PAGE = 50;
const USER_FIELDS = "id,username,email,firstname,lastname,status,state,external_id";

/** OneLogin's user status codes (API v2 user resource). */
const STATUS_NAMES: Record<number, string> = {
  0: "UNACTIVATED",
  1: "ACTIVE",
  2: "SUSPENDED",
  3: "LOCKED",
  4: "PASSWORD_EXPIRED",
  5: "AWAITING_PASSWORD_RESET",
  7: "PASSWORD_PENDING",
  8: "SECURITY_QUESTIONS_REQUIRED",
};

type OneLoginUser = {
  id: number;
  username?: string | null;
  email?: string | null;
  firstname?: string | null;
  lastname?: string | null;
  status?: number | null;
  state?: number | null;
  external_id?: string | null;
};
type OneLoginRole = { id: number; name?: string };

const str = (v: unknown): string | null => (typeof v === "string" && v.length > 0 ? v : null);

/**
 * A OneLogin user as a directory user. Only a suspended user is out of the app: locked, password
 * expired or awaiting a reset are passing states a SCIM deprovisioning would be wrong for.
 */
export function oneloginUser(user: OneLoginUser, settings: Pick<OneLoginSettings, "user_name_attribute" | "external_id_attribute">): DirectoryUser {
  const status = typeof user.status === "number" ? STATUS_NAMES[user.status] ?? `STATUS_${user.status}` : "UNKNOWN";
  const userName = settings.user_name_attribute === "username" ? str(user.username) : str(user.email);
  const externalId = settings.external_id_attribute === "id" ? String(user.id) : settings.external_id_attribute === "external_id" ? str(user.external_id) : null;
  return {
    idpId: String(user.id),
    externalId,
    userName,
    email: str(user.email),
    givenName: str(user.firstname),
    familyName: str(user.lastname),
    active: status !== "SUSPENDED",
    status,
    assignment: "unknown",
  };
}

/** Builds a OneLogin connector over the real HTTP client. */
export function oneloginConnector(settings: OneLoginSettings, credentials: OneLoginCredentials, http: Omit<HttpOptions, "provider">): DirectoryConnector {
  const client = new DirectoryHttp({ ...http, provider: "onelogin" });
  const base = settings.base_url;
  const app = encodeURIComponent(settings.app_id);
  let bearer: { token: string; expiresAt: number } | null = null;

  async function accessToken(): Promise<string> {
    const now = (http.now ?? Date.now)();
    if (bearer && bearer.expiresAt - 60_000 > now) return `bearer ${bearer.token}`;
    // "Authorization Information is incorrect" comes as 400: the credentials too.
    bearer = await requestAccessToken(
      client,
      "onelogin",
      `${base}/auth/oauth2/v2/token`,
      {
        method: "POST",
        headers: { "content-type": "application/json", authorization: `client_id:${credentials.client_id}, client_secret:${credentials.client_secret}` },
        body: JSON.stringify({ grant_type: "client_credentials" }),
      },
      { now, defaultExpiresInS: 36_000, detailOf: (error) => error.message.replace(/^onelogin API request failed \(HTTP 400\): /, "") },
    );
    return `bearer ${bearer.token}`;
  }

  const token = { cached: () => bearer !== null, authorization: accessToken, drop: () => { bearer = null; } };
  const get = (url: string) => getWithBearer(client, url, token);

  async function* pages<T>(first: string): AsyncGenerator<T[]> {
    let cursor: string | null = null;
    do {
      const url: string = cursor ? `${first}&cursor=${encodeURIComponent(cursor)}` : first;
      const res = await get(url);
      yield (Array.isArray(res.body) ? res.body : []) as T[];
      cursor = str(res.headers.get("after-cursor"));
    } while (cursor);
  }

  /** The full user records (with status) of some user ids, keyed by id. */
  async function usersById(ids: number[]): Promise<Map<number, OneLoginUser>> {
    const found = new Map<number, OneLoginUser>();
    for await (const page of pages<OneLoginUser>(`${base}/api/2/users?user_ids=${ids.join(",")}&fields=${USER_FIELDS}&limit=${PAGE}`)) {
      for (const user of page) found.set(user.id, user);
    }
    return found;
  }

  return {
    provider: "onelogin",
    async *users() {
      for await (const page of pages<OneLoginUser>(`${base}/api/2/apps/${app}/users?limit=${PAGE}`)) {
        if (page.length === 0) {
          yield [];
          continue;
        }
        const full = await usersById(page.map((u) => u.id));
        // A user deleted between the two calls is gone from the app: leave it out.
        yield page.flatMap((u) => {
          const user = full.get(u.id);
          return user ? [oneloginUser({ ...u, ...user }, settings)] : [];
        });
      }
    },
    async *groups() {
      for await (const page of pages<OneLoginRole>(`${base}/api/2/roles?app_id=${app}&limit=${PAGE}`)) {
        // OneLogin's provisioning pushes no group id: a role's team is matched by its name.
        yield page.map((r) => ({ idpId: String(r.id), externalId: null, name: r.name ?? String(r.id) }));
      }
    },
    async *members(groupIdpId) {
      for await (const page of pages<{ id: number }>(`${base}/api/2/roles/${encodeURIComponent(groupIdpId)}/users?limit=${PAGE}`)) {
        yield page.map((u) => String(u.id));
      }
    },
  };
}
