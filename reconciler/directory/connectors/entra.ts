import type { EntraCredentials, EntraSettings } from "../settings.ts";
import { DirectoryAuthError, DirectoryRequestError, type DirectoryConnector, type DirectoryGroup, type DirectoryUser } from "./types.ts";
import { DirectoryHttp, vendorDetail, type HttpOptions } from "./http.ts";

/*
 * Microsoft Graph v1.0 (shapes recorded in test/fakes/graph.ts):
 * - POST {login}/{tenant}/oauth2/v2.0/token (client credentials, scope https://graph.microsoft.com/.default)
 *   → {token_type: "Bearer", expires_in, access_token}; a bad secret answers 401 {error: "invalid_client", error_description: "AADSTS7000215: …"}
 * - GET /v1.0/servicePrincipals/{sp}/appRoleAssignedTo → {value: [{principalId, principalType: User|Group, principalDisplayName}], @odata.nextLink}
 * - GET /v1.0/users/{id}?$select=… and GET /v1.0/groups/{id}/members/microsoft.graph.user?$select=…
 *   → users {id, userPrincipalName, mail, mailNickname, givenName, surname, accountEnabled}
 * Paging: @odata.nextLink. Throttling: 429 with Retry-After (seconds).
 * What Entra's provisioning sends by default: userName = userPrincipalName, externalId = mailNickname
 * (configurable: external_id_attribute), active = accountEnabled; a group's externalId = its object id.
 */

const USER_FIELDS = "id,userPrincipalName,mail,mailNickname,givenName,surname,accountEnabled,employeeId";

type GraphUser = {
  id: string;
  userPrincipalName?: string | null;
  mail?: string | null;
  mailNickname?: string | null;
  givenName?: string | null;
  surname?: string | null;
  accountEnabled?: boolean | null;
  employeeId?: string | null;
};
type Assignment = { principalId: string; principalType: string; principalDisplayName?: string };
type Page<T> = { value?: T[]; "@odata.nextLink"?: string };

/** A Graph user as a directory user, with the attribute the app's mapping sends as externalId. */
export function entraUser(user: GraphUser, externalIdAttribute: string, assignment: DirectoryUser["assignment"]): DirectoryUser {
  const value = (user as Record<string, unknown>)[externalIdAttribute];
  return {
    idpId: user.id,
    externalId: typeof value === "string" && value.length > 0 ? value : null,
    userName: user.userPrincipalName ?? null,
    email: user.mail ?? null,
    givenName: user.givenName ?? null,
    familyName: user.surname ?? null,
    active: user.accountEnabled !== false,
    status: user.accountEnabled === false ? "accountEnabled=false" : "accountEnabled=true",
    assignment,
  };
}

/** Builds a Microsoft Graph connector over the real HTTP client. */
export function entraConnector(settings: EntraSettings, credentials: EntraCredentials, http: Omit<HttpOptions, "provider">): DirectoryConnector {
  const client = new DirectoryHttp({ ...http, provider: "entra" });
  const graph = `${settings.base_url}/v1.0`;
  const sp = encodeURIComponent(settings.service_principal_id);
  let bearer: { token: string; expiresAt: number } | null = null;

  async function authorization(): Promise<Record<string, string>> {
    const now = (http.now ?? Date.now)();
    if (!bearer || bearer.expiresAt - 60_000 <= now) {
      const form = new URLSearchParams({
        client_id: credentials.client_id,
        client_secret: credentials.client_secret,
        scope: `${new URL(settings.base_url).origin}/.default`,
        grant_type: "client_credentials",
      });
      let res;
      try {
        res = await client.request(`${settings.login_base_url}/${encodeURIComponent(settings.tenant_id)}/oauth2/v2.0/token`, {
          method: "POST",
          headers: { "content-type": "application/x-www-form-urlencoded" },
          body: form.toString(),
        });
      } catch (error) {
        // The token endpoint answers 400 for an unknown tenant or client: those are credentials too.
        if (error instanceof DirectoryRequestError && error.status === 400) throw new DirectoryAuthError("entra", 400, error.message);
        throw error;
      }
      const body = res.body as { access_token?: string; expires_in?: number };
      if (!body.access_token) throw new DirectoryAuthError("entra", res.status, vendorDetail(res.body));
      bearer = { token: body.access_token, expiresAt: now + (body.expires_in ?? 3600) * 1000 };
    }
    return { authorization: `Bearer ${bearer.token}` };
  }

  async function* pages<T>(first: string): AsyncGenerator<T[]> {
    let url: string | undefined = first;
    while (url) {
      const res = await client.get(url, await authorization());
      const body = res.body as Page<T>;
      yield body.value ?? [];
      url = body["@odata.nextLink"];
    }
  }

  const assignments = () => pages<Assignment>(`${graph}/servicePrincipals/${sp}/appRoleAssignedTo?$top=999`);
  const groupMembers = (groupId: string) =>
    pages<GraphUser>(`${graph}/groups/${encodeURIComponent(groupId)}/members/microsoft.graph.user?$select=${USER_FIELDS}&$top=999`);

  return {
    provider: "entra",
    async *users() {
      // A user can be assigned directly and through several groups: each is yielded once.
      const seen = new Set<string>();
      const groupIds: string[] = [];
      for await (const page of assignments()) {
        const direct: DirectoryUser[] = [];
        for (const a of page) {
          if (a.principalType === "Group") groupIds.push(a.principalId);
          if (a.principalType !== "User" || seen.has(a.principalId)) continue;
          seen.add(a.principalId);
          const res = await client.get(`${graph}/users/${encodeURIComponent(a.principalId)}?$select=${USER_FIELDS}`, await authorization());
          direct.push(entraUser(res.body as GraphUser, settings.external_id_attribute, "direct"));
        }
        if (direct.length > 0) yield direct;
      }
      for (const groupId of groupIds) {
        for await (const page of groupMembers(groupId)) {
          const fresh = page.filter((u) => !seen.has(u.id));
          for (const u of fresh) seen.add(u.id);
          if (fresh.length > 0) yield fresh.map((u) => entraUser(u, settings.external_id_attribute, "group"));
        }
      }
    },
    async *groups() {
      for await (const page of assignments()) {
        const groups: DirectoryGroup[] = page
          .filter((a) => a.principalType === "Group")
          .map((a) => ({ idpId: a.principalId, externalId: a.principalId, name: a.principalDisplayName ?? a.principalId }));
        if (groups.length > 0) yield groups;
      }
    },
    async *members(groupIdpId) {
      for await (const page of groupMembers(groupIdpId)) yield page.map((u) => u.id);
    },
  };
}
