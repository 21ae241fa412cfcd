import { importPKCS8, SignJWT } from "jose";
import type { GoogleCredentials, GoogleSettings } from "../settings.ts";
import { DirectoryAuthError, type DirectoryConnector, type DirectoryGroup, type DirectoryUser } from "./types.ts";
import { DirectoryHttp, getWithBearer, requestAccessToken, type HttpOptions } from "./http.ts";

/*
 * Google Workspace: Admin SDK Directory API v1 (shapes recorded in test/fakes/google.ts):
 * - A service account with domain-wide delegation signs a JWT (RS256, kid = private_key_id;
 *   iss = client_email, sub = the delegated admin, scope = the three read-only scopes below,
 *   aud = the token URI) and trades it at the token URI with
 *   grant_type=urn:ietf:params:oauth:grant-type:jwt-bearer → {access_token, expires_in, token_type: "Bearer"}.
 *   A refused assertion answers 400 {error: "invalid_grant"} or 401 {error: "unauthorized_client"}.
 * - GET /admin/directory/v1/users?customer=my_customer|domain=…&maxResults=500&projection=basic
 *   → {kind, users: [{id, primaryEmail, name: {givenName, familyName}, suspended, archived, orgUnitPath}], nextPageToken}
 * - GET /admin/directory/v1/groups?customer=…&maxResults=200 → {groups: [{id, email, name}], nextPageToken}
 * - GET /admin/directory/v1/groups/{id}/members?maxResults=200&includeDerivedMembership=true
 *   → {members: [{id, email, role, type: USER|GROUP|CUSTOMER, status}], nextPageToken}
 * Paging: pageToken/nextPageToken (a list with nothing in it has no `users`/`groups` key at all).
 * Throttling: 429, or 403 with errors[].reason rateLimitExceeded/userRateLimitExceeded (usageLimits),
 * waited out with exponential backoff; any other 403 is the admin or the delegation lacking rights.
 * Google has no app assignment: the users in the app's provisioning scope are the customer's users
 * (or a domain's), narrowed by `user_query` when the scope is an organizational unit, and to the
 * members (nested included) of `scope_groups` when the scope is groups.
 */

export const GOOGLE_SCOPES = [
  "https://www.googleapis.com/auth/admin.directory.user.readonly",
  "https://www.googleapis.com/auth/admin.directory.group.readonly",
  "https://www.googleapis.com/auth/admin.directory.group.member.readonly",
].join(" ");

const USERS_PAGE = 500;
const GROUPS_PAGE = 200;
const THROTTLE_REASONS = new Set(["rateLimitExceeded", "userRateLimitExceeded", "quotaExceeded"]);

type GoogleUser = {
  id: string;
  primaryEmail?: string;
  name?: { givenName?: string; familyName?: string; fullName?: string };
  suspended?: boolean;
  archived?: boolean;
};
type GoogleGroup = { id: string; email?: string; name?: string };
type GoogleMember = { id?: string; email?: string; type?: string; status?: string };
type ServiceAccountKey = { client_email: string; private_key: string; private_key_id?: string };

const str = (v: unknown): string | null => (typeof v === "string" && v.length > 0 ? v : null);

/** Whether a Google error answer is a quota being overrun (403 or 429 with a usage-limit reason). */
export function googleThrottled(status: number, body: unknown): boolean {
  if (status !== 403 && status !== 429) return false;
  const errors = (body as { error?: { errors?: Array<{ reason?: string }> } } | null)?.error?.errors;
  return Array.isArray(errors) && errors.some((e) => typeof e.reason === "string" && THROTTLE_REASONS.has(e.reason));
}

/** A Directory API user as a directory user; `externalIdAttribute` is what the app's SCIM mapping sends. */
export function googleUser(user: GoogleUser, externalIdAttribute: GoogleSettings["external_id_attribute"] = "id"): DirectoryUser {
  const status = user.suspended ? "SUSPENDED" : user.archived ? "ARCHIVED" : "ACTIVE";
  return {
    idpId: user.id,
    externalId: externalIdAttribute === "none" ? null : externalIdAttribute === "primaryEmail" ? str(user.primaryEmail) : user.id,
    userName: str(user.primaryEmail),
    email: str(user.primaryEmail),
    givenName: str(user.name?.givenName),
    familyName: str(user.name?.familyName),
    // An archived user keeps its data but has no access: no longer a user of the app either.
    active: status === "ACTIVE",
    status,
    assignment: "unknown",
  };
}

/** Builds a Google Workspace connector over the real HTTP client. */
export function googleConnector(settings: GoogleSettings, credentials: GoogleCredentials, http: Omit<HttpOptions, "provider">): DirectoryConnector {
  const client = new DirectoryHttp({ ...http, provider: "google", throttled: googleThrottled });
  const api = `${settings.base_url}/admin/directory/v1`;
  const scope = settings.domain ? `domain=${encodeURIComponent(settings.domain)}` : `customer=${encodeURIComponent(settings.customer)}`;
  let bearer: { token: string; expiresAt: number } | null = null;

  function serviceAccount(): ServiceAccountKey {
    let key: Partial<ServiceAccountKey>;
    try {
      key = JSON.parse(credentials.service_account_json) as Partial<ServiceAccountKey>;
    } catch {
      throw new DirectoryAuthError("google", 0, "the stored service account key is not JSON");
    }
    if (!key.client_email || !key.private_key) throw new DirectoryAuthError("google", 0, "the service account key has no client_email or private_key");
    return key as ServiceAccountKey;
  }

  async function accessToken(): Promise<string> {
    const now = (http.now ?? Date.now)();
    if (bearer && bearer.expiresAt - 60_000 > now) return `Bearer ${bearer.token}`;
    const key = serviceAccount();
    let signingKey;
    try {
      signingKey = await importPKCS8(key.private_key, "RS256");
    } catch {
      throw new DirectoryAuthError("google", 0, `the private key of ${key.client_email} cannot be read (expected the PKCS#8 PEM Google issues)`);
    }
    const iat = Math.floor(now / 1000);
    const assertion = await new SignJWT({ scope: GOOGLE_SCOPES })
      .setProtectedHeader({ alg: "RS256", typ: "JWT", ...(key.private_key_id ? { kid: key.private_key_id } : {}) })
      .setIssuer(key.client_email)
      .setSubject(credentials.subject)
      .setAudience(settings.token_url)
      .setIssuedAt(iat)
      .setExpirationTime(iat + 3600)
      .sign(signingKey);
    const form = new URLSearchParams({ grant_type: "urn:ietf:params:oauth:grant-type:jwt-bearer", assertion });
    // invalid_grant (a deleted key, a wrong subject, a clock off) comes as 400: the credentials too.
    bearer = await requestAccessToken(
      client,
      "google",
      settings.token_url,
      { method: "POST", headers: { "content-type": "application/x-www-form-urlencoded" }, body: form.toString() },
      { now, defaultExpiresInS: 3600, detailOf: (error) => error.message.replace(/^google API request failed \(HTTP 400\): /, "") },
    );
    return `Bearer ${bearer.token}`;
  }

  const token = { cached: () => bearer !== null, authorization: accessToken, drop: () => { bearer = null; } };
  const get = (url: string) => getWithBearer(client, url, token);

  async function* pages<T>(first: string, key: "users" | "groups" | "members"): AsyncGenerator<T[]> {
    let pageToken: string | undefined;
    do {
      const url = pageToken ? `${first}&pageToken=${encodeURIComponent(pageToken)}` : first;
      const res = await get(url);
      const body = res.body as Record<string, unknown>;
      const items = body[key];
      yield (Array.isArray(items) ? items : []) as T[];
      pageToken = typeof body.nextPageToken === "string" && body.nextPageToken.length > 0 ? body.nextPageToken : undefined;
    } while (pageToken);
  }

  const userQuery = settings.user_query ? `&query=${encodeURIComponent(settings.user_query)}` : "";

  /** Ids of the users in a group, nested groups' members included. */
  async function* memberIds(groupKey: string): AsyncGenerator<string[]> {
    const url = `${api}/groups/${encodeURIComponent(groupKey)}/members?maxResults=${GROUPS_PAGE}&includeDerivedMembership=true`;
    for await (const page of pages<GoogleMember>(url, "members")) {
      yield page.filter((m) => (m.type ?? "USER") === "USER" && typeof m.id === "string").map((m) => m.id!);
    }
  }

  return {
    provider: "google",
    async *users() {
      // A group scope: the members' ids first (ids only, so memory stays small), then the users list filtered by them.
      let inScope: Set<string> | null = null;
      if (settings.scope_groups && settings.scope_groups.length > 0) {
        inScope = new Set();
        for (const group of settings.scope_groups) for await (const ids of memberIds(group)) for (const id of ids) inScope.add(id);
      }
      for await (const page of pages<GoogleUser>(`${api}/users?${scope}&maxResults=${USERS_PAGE}&projection=basic&orderBy=email${userQuery}`, "users")) {
        yield (inScope ? page.filter((u) => inScope.has(u.id)) : page).map((u) => googleUser(u, settings.external_id_attribute));
      }
    },
    async *groups() {
      for await (const page of pages<GoogleGroup>(`${api}/groups?${scope}&maxResults=${GROUPS_PAGE}`, "groups")) {
        // Teams pushed from Google carry the group's email as externalId; older ones match by name.
        yield page.map((g): DirectoryGroup => ({ idpId: g.id, externalId: str(g.email), name: str(g.name) ?? str(g.email) ?? g.id }));
      }
    },
    // Derived membership: a user in a nested group is a member of the outer one for the app too.
    members: memberIds,
  };
}
