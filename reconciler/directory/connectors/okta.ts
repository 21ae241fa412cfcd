import { importJWK, importPKCS8, SignJWT, type JWK } from "jose";
import { randomUUID } from "node:crypto";
import type { OktaCredentials, OktaSettings } from "../settings.ts";
import { type DirectoryChange, type DirectoryConnector, type DirectoryGroup, type DirectoryUser } from "./types.ts";
import { DirectoryHttp, nextLink, requestAccessToken, type HttpOptions } from "./http.ts";

/*
 * Okta Management API (shapes recorded in test/fakes/okta.ts):
 * - GET /api/v1/apps/{appId}/users?expand=user&limit=200 → app users: {id, externalId, scope: USER|GROUP,
 *   status, credentials: {userName}, _embedded: {user: {id, status, profile: {login, email, firstName, lastName}}}}
 * - GET /api/v1/apps/{appId}/groups?expand=group&limit=200 → {id, _embedded: {group: {id, profile: {name}}}}
 * - GET /api/v1/groups/{id}/users?limit=200 → users {id, status, profile}
 * - GET /api/v1/users?search=lastUpdated gt "…" and GET /api/v1/apps/{appId}/users/{userId} (404 = unassigned)
 * Paging: Link: <…>; rel="next". Auth: `SSWS <token>`, or an OAuth 2.0 service app: a client
 * assertion (private_key_jwt, RFC 7523) traded at /oauth2/v1/token for a Bearer token.
 * What Okta's SCIM integration sends: externalId = the Okta user id, userName = the app username.
 */

const PAGE = 200;
const SCOPES = "okta.users.read okta.groups.read okta.apps.read";
/** Okta users whose status keeps them out of the app (SUSPENDED and DEPROVISIONED send no SCIM call). */
const INACTIVE_STATUSES = new Set(["SUSPENDED", "DEPROVISIONED"]);

type OktaProfile = { login?: string; email?: string; firstName?: string; lastName?: string };
type OktaUser = { id: string; status: string; lastUpdated?: string; profile?: OktaProfile };
type OktaAppUser = {
  id: string;
  externalId?: string | null;
  scope?: string;
  status?: string;
  credentials?: { userName?: string };
  _embedded?: { user?: OktaUser };
};
type OktaAppGroup = { id: string; _embedded?: { group?: { id: string; profile?: { name?: string } } } };

const str = (v: unknown): string | null => (typeof v === "string" && v.length > 0 ? v : null);

/** Okta's app user (with its embedded user) as a directory user. */
export function oktaUser(appUser: OktaAppUser): DirectoryUser {
  const user = appUser._embedded?.user;
  const status = user?.status ?? appUser.status ?? "UNKNOWN";
  const profile = user?.profile ?? {};
  return {
    idpId: appUser.id,
    externalId: appUser.id,
    userName: str(appUser.credentials?.userName) ?? str(profile.login),
    email: str(profile.email),
    givenName: str(profile.firstName),
    familyName: str(profile.lastName),
    active: !INACTIVE_STATUSES.has(status) && appUser.status !== "INACTIVE",
    status,
    assignment: appUser.scope === "GROUP" ? "group" : appUser.scope === "USER" ? "direct" : "unknown",
  };
}

/** Builds an Okta connector over the real HTTP client. */
export function oktaConnector(settings: OktaSettings, credentials: OktaCredentials, http: Omit<HttpOptions, "provider">): DirectoryConnector {
  const client = new DirectoryHttp({ ...http, provider: "okta" });
  const base = settings.base_url;
  const app = encodeURIComponent(settings.app_id);
  let bearer: { token: string; expiresAt: number } | null = null;

  async function accessToken(): Promise<string> {
    if ("api_token" in credentials) return `SSWS ${credentials.api_token}`;
    const now = (http.now ?? Date.now)();
    if (bearer && bearer.expiresAt - 60_000 > now) return `Bearer ${bearer.token}`;
    const tokenUrl = `${base}/oauth2/v1/token`;
    const key = credentials.private_key.trim().startsWith("{")
      ? await importJWK(JSON.parse(credentials.private_key) as JWK, "RS256")
      : await importPKCS8(credentials.private_key, "RS256");
    const assertion = await new SignJWT({})
      .setProtectedHeader({ alg: "RS256", ...(credentials.key_id ? { kid: credentials.key_id } : {}) })
      .setIssuer(credentials.client_id)
      .setSubject(credentials.client_id)
      .setAudience(tokenUrl)
      .setIssuedAt(Math.floor(now / 1000))
      .setExpirationTime(Math.floor(now / 1000) + 300)
      .setJti(randomUUID())
      .sign(key);
    const form = new URLSearchParams({
      grant_type: "client_credentials",
      scope: SCOPES,
      client_assertion_type: "urn:ietf:params:oauth:client-assertion-type:jwt-bearer",
      client_assertion: assertion,
    });
    // Okta answers a bad assertion with 400/401 invalid_client: both mean the credentials.
    bearer = await requestAccessToken(
      client,
      "okta",
      tokenUrl,
      { method: "POST", headers: { "content-type": "application/x-www-form-urlencoded" }, body: form.toString() },
      { now, defaultExpiresInS: 3600 },
    );
    return `Bearer ${bearer.token}`;
  }

  async function* pages<T>(first: string): AsyncGenerator<T[]> {
    let url: string | null = first;
    while (url) {
      const res = await client.get(url, { authorization: await accessToken() });
      yield (Array.isArray(res.body) ? res.body : []) as T[];
      url = nextLink(res.headers);
    }
  }

  return {
    provider: "okta",
    async *users() {
      for await (const page of pages<OktaAppUser>(`${base}/api/v1/apps/${app}/users?limit=${PAGE}&expand=user`)) yield page.map(oktaUser);
    },
    async *groups() {
      for await (const page of pages<OktaAppGroup>(`${base}/api/v1/apps/${app}/groups?limit=${PAGE}&expand=group`)) {
        const groups: DirectoryGroup[] = [];
        for (const assignment of page) {
          let name = assignment._embedded?.group?.profile?.name;
          if (name === undefined) {
            const res = await client.get(`${base}/api/v1/groups/${encodeURIComponent(assignment.id)}`, { authorization: await accessToken() });
            name = (res.body as { profile?: { name?: string } }).profile?.name;
          }
          // Okta's group push sends no externalId of its own; the pushed group is matched by name.
          groups.push({ idpId: assignment.id, externalId: null, name: name ?? assignment.id });
        }
        yield groups;
      }
    },
    async *members(groupIdpId) {
      for await (const page of pages<OktaUser>(`${base}/api/v1/groups/${encodeURIComponent(groupIdpId)}/users?limit=${PAGE}`)) yield page.map((u) => u.id);
    },
    changes(cursor) {
      let watermark = cursor;
      const started = new Date((http.now ?? Date.now)()).toISOString();
      async function* feed(): AsyncGenerator<DirectoryChange[]> {
        if (watermark === null) {
          watermark = started;
          return;
        }
        const search = encodeURIComponent(`lastUpdated gt "${watermark}"`);
        let newest = watermark;
        for await (const page of pages<OktaUser>(`${base}/api/v1/users?search=${search}&limit=${PAGE}`)) {
          const changes: DirectoryChange[] = [];
          for (const user of page) {
            if (user.lastUpdated && user.lastUpdated > newest) newest = user.lastUpdated;
            try {
              const res = await client.get(`${base}/api/v1/apps/${app}/users/${encodeURIComponent(user.id)}?expand=user`, { authorization: await accessToken() });
              changes.push({ user: oktaUser(res.body as OktaAppUser), assigned: true });
            } catch (error) {
              if ((error as { status?: number }).status === 404) changes.push({ idpId: user.id, assigned: false });
              else throw error;
            }
          }
          yield changes;
        }
        watermark = newest;
      }
      return { pages: feed(), cursor: () => watermark };
    },
  };
}
