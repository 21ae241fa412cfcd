import { decodeProtectedHeader, importSPKI, jwtVerify } from "jose";
import { json, serveFake, type FakeServer } from "./fakeServer.ts";

/*
 * A fake Google OAuth 2.0 token endpoint + Admin SDK Directory API v1, as documented:
 * - POST /token, form grant_type=urn:ietf:params:oauth:grant-type:jwt-bearer & assertion=<RS256 JWT:
 *   header kid = private_key_id; iss = client_email, sub = the delegated admin, aud = the token URI,
 *   scope = space-separated scopes, iat, exp ≤ iat + 3600> → {access_token, expires_in: 3599, token_type: "Bearer"}
 *   - a key deleted in the Cloud console / a bad signature → 400 {error: "invalid_grant", error_description: "Invalid JWT Signature."}
 *   - a subject that is not a user of the domain → 400 {error: "invalid_grant", error_description: "Invalid email or User ID"}
 *   - scopes not granted in domain-wide delegation → 401 {error: "unauthorized_client", error_description:
 *     "Client is unauthorized to retrieve access tokens using this method, or client not authorized for any of the scopes requested."}
 * - GET /admin/directory/v1/users?customer=my_customer|domain=&maxResults(≤500)&pageToken&query&projection&orderBy
 *   → {kind: "admin#directory#users", etag, users: [{kind: "admin#directory#user", id, etag, primaryEmail,
 *      name: {givenName, familyName, fullName}, isAdmin, suspended, archived, orgUnitPath, customerId, creationTime}],
 *      nextPageToken?}; an empty result has no `users` key.
 * - GET /admin/directory/v1/groups?customer|domain&maxResults(≤200)&pageToken
 *   → {kind: "admin#directory#groups", etag, groups: [{kind, id, etag, email, name, directMembersCount, description, adminCreated}], nextPageToken?}
 * - GET /admin/directory/v1/groups/{groupKey}/members?maxResults(≤200)&pageToken&includeDerivedMembership
 *   → {kind: "admin#directory#members", etag, members: [{kind, etag, id, email, role: MEMBER|OWNER|MANAGER, type: USER|GROUP, status}], nextPageToken?}
 *   (a nested group is one member of type GROUP; with includeDerivedMembership=true its users are listed instead)
 *   an unknown group → 404 {error: {code: 404, message: "Resource Not Found: groupKey", errors: [{reason: "notFound", domain: "global"}]}}
 * - a missing/expired bearer → 401 {error: {code: 401, message: "Request had invalid authentication credentials. …",
 *   errors: [{message: "Invalid Credentials", domain: "global", reason: "authError", location: "Authorization", locationType: "header"}],
 *   status: "UNAUTHENTICATED"}}
 * - throttled → 403 {error: {code: 403, message: "Quota exceeded for quota metric 'Queries' …", errors: [{domain: "usageLimits",
 *   reason: "rateLimitExceeded"|"userRateLimitExceeded", message}], status: "PERMISSION_DENIED"}} or the same as 429 RESOURCE_EXHAUSTED;
 *   Google sends no Retry-After: clients back off exponentially.
 * pageToken is opaque; here it is the offset, base64url-encoded.
 */

export const GOOGLE_READ_SCOPES = [
  "https://www.googleapis.com/auth/admin.directory.user.readonly",
  "https://www.googleapis.com/auth/admin.directory.group.readonly",
  "https://www.googleapis.com/auth/admin.directory.group.member.readonly",
];

export type FakeGoogleUser = {
  id: string;
  primaryEmail: string;
  givenName: string;
  familyName: string;
  suspended: boolean;
  archived: boolean;
  orgUnitPath: string;
};

export type FakeGoogleState = {
  users: Map<string, FakeGoogleUser>;
  /** Members are user ids, or the ids of nested groups. */
  groups: Map<string, { id: string; email: string; name: string; members: Set<string> }>;
};

export type FakeGoogleOptions = {
  /** The service account: its email, key id and public key (SPKI PEM). */
  serviceAccount: { clientEmail: string; keyId: string; publicKeyPem: string };
  /** Admins the service account may act as (domain-wide delegation). */
  admins: Set<string>;
  /** Scopes granted to the service account's client id in the Admin console. */
  grantedScopes?: string[];
  domain: string;
  pageSize?: number;
  /** The key was deleted (or rotated) in the Cloud console: every assertion is refused. */
  keyRevoked?: boolean;
  /** The next N Directory API requests are throttled (403 or 429 with a usage-limit reason) or fail (503). */
  fail?: { status: 403 | 429 | 503; count: number; reason?: "rateLimitExceeded" | "userRateLimitExceeded" };
  /** Answer every users page with no users (an IdP answering an empty list by mistake). */
  emptyUsers?: boolean;
};

export type FakeGoogle = FakeServer & {
  state: FakeGoogleState;
  options: FakeGoogleOptions;
  tokenUrl: string;
  /** Every assertion presented at the token endpoint, in order. */
  assertions: string[];
  /** Forgets every access token issued (they expired, or an admin reset the service account's sessions). */
  expireTokens(): void;
};

export const emptyGoogleState = (): FakeGoogleState => ({ users: new Map(), groups: new Map() });

const googleError = (code: number, status: string, message: string, reason: string, domain = "global") => ({
  error: { code, message, errors: [{ message, domain, reason }], status },
});
const tokenFor = (offset: number) => Buffer.from(`o:${offset}`).toString("base64url");
const offsetOf = (token: string | null) => (token ? Number(Buffer.from(token, "base64url").toString("utf8").slice(2)) || 0 : 0);

/** Starts a fake Google on a free port (one origin serves the token endpoint and the Directory API). */
export async function startFakeGoogle(options: FakeGoogleOptions, state: FakeGoogleState = emptyGoogleState()): Promise<FakeGoogle> {
  const tokens = new Set<string>();
  const assertions: string[] = [];
  let publicKey: CryptoKey | null = null;
  let self: FakeServer;

  function paged<T>(url: URL, items: T[], key: string, kind: string, cap: number) {
    const max = Math.min(Number(url.searchParams.get("maxResults") ?? cap), cap, options.pageSize ?? cap);
    const offset = offsetOf(url.searchParams.get("pageToken"));
    const slice = items.slice(offset, offset + max);
    const body: Record<string, unknown> = { kind, etag: `"etag-${offset}"` };
    if (slice.length > 0) body[key] = slice;
    if (offset + max < items.length) body.nextPageToken = tokenFor(offset + max);
    return body;
  }

  const userJson = (u: FakeGoogleUser) => ({
    kind: "admin#directory#user", id: u.id, etag: `"u-${u.id}"`, primaryEmail: u.primaryEmail,
    name: { givenName: u.givenName, familyName: u.familyName, fullName: `${u.givenName} ${u.familyName}` },
    isAdmin: options.admins.has(u.primaryEmail), isDelegatedAdmin: false, suspended: u.suspended, archived: u.archived,
    orgUnitPath: u.orgUnitPath, customerId: "C03az79cb", creationTime: "2026-01-01T00:00:00.000Z", isMailboxSetup: true,
  });

  /** The customer or domain the request names is this fake's. */
  const inScope = (url: URL) => url.searchParams.get("customer") === "my_customer" || url.searchParams.get("customer") === "C03az79cb" || url.searchParams.get("domain") === options.domain;

  const server = await serveFake(async (url, req, body, res) => {
    const path = url.pathname;
    if (req.method === "POST" && path === "/token") {
      const form = new URLSearchParams(body);
      if (form.get("grant_type") !== "urn:ietf:params:oauth:grant-type:jwt-bearer") {
        return json(res, 400, { error: "unsupported_grant_type", error_description: "Invalid grant_type: " + (form.get("grant_type") ?? "") });
      }
      const assertion = form.get("assertion") ?? "";
      assertions.push(assertion);
      publicKey ??= await importSPKI(options.serviceAccount.publicKeyPem, "RS256");
      let payload;
      try {
        if (options.keyRevoked || decodeProtectedHeader(assertion).kid !== options.serviceAccount.keyId) throw new Error("unknown key");
        ({ payload } = await jwtVerify(assertion, publicKey, { issuer: options.serviceAccount.clientEmail, audience: `${self.url}/token`, maxTokenAge: "1h" }));
      } catch {
        return json(res, 400, { error: "invalid_grant", error_description: "Invalid JWT Signature." });
      }
      if (typeof payload.sub !== "string" || !options.admins.has(payload.sub)) return json(res, 400, { error: "invalid_grant", error_description: "Invalid email or User ID" });
      const requested = String(payload.scope ?? "").split(" ").filter(Boolean);
      const granted = options.grantedScopes ?? GOOGLE_READ_SCOPES;
      if (requested.length === 0 || requested.some((s) => !granted.includes(s))) {
        return json(res, 401, { error: "unauthorized_client", error_description: "Client is unauthorized to retrieve access tokens using this method, or client not authorized for any of the scopes requested." });
      }
      const token = `ya29.${Math.random().toString(36).slice(2)}`;
      tokens.add(token);
      return json(res, 200, { access_token: token, expires_in: 3599, token_type: "Bearer" });
    }

    const auth = req.headers.authorization ?? "";
    if (!auth.startsWith("Bearer ") || !tokens.has(auth.slice(7))) {
      return json(res, 401, {
        error: {
          code: 401,
          message: "Request had invalid authentication credentials. Expected OAuth 2 access token, login cookie or other valid authentication credential.",
          errors: [{ message: "Invalid Credentials", domain: "global", reason: "authError", location: "Authorization", locationType: "header" }],
          status: "UNAUTHENTICATED",
        },
      });
    }
    if (options.fail && options.fail.count > 0) {
      options.fail.count -= 1;
      if (options.fail.status === 503) return json(res, 503, googleError(503, "UNAVAILABLE", "The service is currently unavailable.", "backendError"));
      const reason = options.fail.reason ?? "rateLimitExceeded";
      const message = "Quota exceeded for quota metric 'Queries' and limit 'Queries per minute per user' of service 'admin.googleapis.com'.";
      return json(res, options.fail.status, googleError(options.fail.status, options.fail.status === 403 ? "PERMISSION_DENIED" : "RESOURCE_EXHAUSTED", message, reason, "usageLimits"));
    }
    let m: RegExpExecArray | null;
    if (path === "/admin/directory/v1/users") {
      if (!inScope(url)) return json(res, 400, googleError(400, "INVALID_ARGUMENT", "Bad Request", "badRequest"));
      if (options.emptyUsers) return json(res, 200, { kind: "admin#directory#users", etag: `"empty"` });
      const ou = /^orgUnitPath='([^']*)'$/.exec(url.searchParams.get("query") ?? "");
      const users = [...state.users.values()]
        .filter((u) => !ou || u.orgUnitPath === ou[1] || u.orgUnitPath.startsWith(`${ou[1]}/`))
        .sort((a, b) => (a.primaryEmail < b.primaryEmail ? -1 : 1));
      return json(res, 200, paged(url, users.map(userJson), "users", "admin#directory#users", 500));
    }
    if (path === "/admin/directory/v1/groups") {
      if (!inScope(url)) return json(res, 400, googleError(400, "INVALID_ARGUMENT", "Bad Request", "badRequest"));
      const groups = [...state.groups.values()].sort((a, b) => (a.email < b.email ? -1 : 1)).map((g) => ({
        kind: "admin#directory#group", id: g.id, etag: `"g-${g.id}"`, email: g.email, name: g.name, directMembersCount: String(g.members.size), description: "", adminCreated: true,
      }));
      return json(res, 200, paged(url, groups, "groups", "admin#directory#groups", 200));
    }
    if ((m = /^\/admin\/directory\/v1\/groups\/([^/]+)\/members$/.exec(path))) {
      const key = decodeURIComponent(m[1]!);
      const group = state.groups.get(key) ?? [...state.groups.values()].find((g) => g.email === key);
      if (!group) return json(res, 404, googleError(404, "NOT_FOUND", "Resource Not Found: groupKey", "notFound"));
      // A member id may name another group: listed as type GROUP, or expanded into its users with includeDerivedMembership.
      const derived = url.searchParams.get("includeDerivedMembership") === "true";
      const ids = new Set<string>();
      const expand = (g: { members: Set<string> }, seen: Set<unknown>) => {
        for (const id of g.members) {
          const nested = state.groups.get(id);
          if (nested && derived) {
            if (!seen.has(nested)) expand(nested, seen.add(nested));
          } else ids.add(id);
        }
      };
      expand(group, new Set([group]));
      const members = [...ids].sort().flatMap((id) => {
        const u = state.users.get(id);
        const g = state.groups.get(id);
        if (g) return [{ kind: "admin#directory#member", etag: `"m-${id}"`, id, email: g.email, role: "MEMBER", type: "GROUP", status: "ACTIVE" }];
        return u ? [{ kind: "admin#directory#member", etag: `"m-${id}"`, id, email: u.primaryEmail, role: "MEMBER", type: "USER", status: u.suspended ? "SUSPENDED" : "ACTIVE" }] : [];
      });
      return json(res, 200, paged(url, members, "members", "admin#directory#members", 200));
    }
    return json(res, 404, googleError(404, "NOT_FOUND", `Method not found: ${path}`, "notFound"));
  });
  self = server;
  return { ...server, state, options, tokenUrl: `${server.url}/token`, assertions, expireTokens: () => tokens.clear() };
}
