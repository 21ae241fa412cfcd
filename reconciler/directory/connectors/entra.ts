import type { EntraCredentials, EntraSettings } from "../settings.ts";
import {
  DirectoryRequestError, DirectoryResyncRequired, type DirectoryChange, type DirectoryConnector, type DirectoryGroup, type DirectoryUser,
} from "./types.ts";
import { DirectoryHttp, requestAccessToken, type HttpOptions } from "./http.ts";

/*
 * Microsoft Graph v1.0 (shapes recorded in test/fakes/graph.ts):
 * - POST {login}/{tenant}/oauth2/v2.0/token (client credentials, scope https://graph.microsoft.com/.default)
 *   → {token_type: "Bearer", expires_in, access_token}; a bad secret answers 401 {error: "invalid_client", error_description: "AADSTS7000215: …"}
 * - GET /v1.0/servicePrincipals/{sp}/appRoleAssignedTo → {value: [{principalId, principalType: User|Group, principalDisplayName}], @odata.nextLink}
 * - GET /v1.0/users/{id}?$select=… and GET /v1.0/groups/{id}/members/microsoft.graph.user?$select=…
 *   → users {id, userPrincipalName, mail, mailNickname, givenName, surname, accountEnabled}
 * - GET /v1.0/users/delta?$select=… and /v1.0/groups/delta?$select=displayName,members → pages of changed objects
 *   ({id, …at least the changed properties} or {id, @removed: {reason: changed|deleted}}; a group's member changes in
 *   members@delta: [{@odata.type, id, @removed?}]), @odata.nextLink until the round ends with @odata.deltaLink, the
 *   next round's start; $deltatoken=latest starts a round from now with no data. A token Graph no longer honours
 *   answers 410 Gone (Location: a fresh start) or a 4xx with code syncStateNotFound / syncStateInvalid / resyncRequired.
 * - GET /v1.0/users/{id}/memberOf/microsoft.graph.group?$select=id, GET /v1.0/directory/deletedItems/{id} (a soft-deleted user)
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
type Page<T> = { value?: T[]; "@odata.nextLink"?: string; "@odata.deltaLink"?: string };
type Removed = { "@removed"?: { reason?: string } };
type DeltaUser = { id: string } & Removed;
type DeltaGroup = { id: string; displayName?: string; "members@delta"?: Array<{ "@odata.type"?: string; id: string } & Removed> } & Removed;

/** An incremental run's cursor: the delta links that end the last round of each feed (sealed at rest: they carry a state token). */
type EntraCursor = { users: string; groups: string };

/** Changes are looked up and yielded this many users at a time. */
const CHANGE_PAGE = 50;

/** Whether Graph's answer says the delta token can no longer be used and a full synchronization must start over. */
export function isResyncAnswer(error: unknown): boolean {
  if (!(error instanceof DirectoryRequestError)) return false;
  return error.status === 410 || /\b(syncStateNotFound|syncStateInvalid|resyncRequired)\b/i.test(error.message);
}

function parseCursor(cursor: string): EntraCursor | null {
  try {
    const parsed = JSON.parse(cursor) as Partial<EntraCursor>;
    return typeof parsed.users === "string" && typeof parsed.groups === "string" ? { users: parsed.users, groups: parsed.groups } : null;
  } catch {
    return null;
  }
}

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
      // The token endpoint answers 400 for an unknown tenant or client: those are credentials too.
      bearer = await requestAccessToken(
        client,
        "entra",
        `${settings.login_base_url}/${encodeURIComponent(settings.tenant_id)}/oauth2/v2.0/token`,
        { method: "POST", headers: { "content-type": "application/x-www-form-urlencoded" }, body: form.toString() },
        { now, defaultExpiresInS: 3600 },
      );
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

  /**
   * One round of a delta feed: its pages, then `end` is given the round's delta link. A delta link
   * is never put in an error or a log line (it reads the tenant's changes).
   */
  async function* deltaRound<T>(first: string, end: (deltaLink: string) => void): AsyncGenerator<T[]> {
    let url = first;
    for (;;) {
      let res;
      try {
        res = await client.get(url, await authorization());
      } catch (error) {
        if (isResyncAnswer(error)) throw new DirectoryResyncRequired("entra", (error as Error).message);
        throw error;
      }
      const body = res.body as Page<T>;
      yield body.value ?? [];
      const next = body["@odata.nextLink"];
      if (next) {
        url = next;
        continue;
      }
      const deltaLink = body["@odata.deltaLink"];
      if (!deltaLink) throw new DirectoryRequestError("entra", res.status, "a delta page carried neither @odata.nextLink nor @odata.deltaLink");
      end(deltaLink);
      return;
    }
  }

  /** A user's profile, or null when Graph no longer has it (404). */
  async function userById(id: string, path = `users/${encodeURIComponent(id)}`): Promise<GraphUser | null> {
    try {
      return (await client.get(`${graph}/${path}?$select=${USER_FIELDS}`, await authorization())).body as GraphUser;
    } catch (error) {
      if (error instanceof DirectoryRequestError && error.status === 404) return null;
      throw error;
    }
  }

  /** Whether the user is a direct member of one of the groups assigned to the app (Entra assigns through direct membership only). */
  async function inAssignedGroup(userId: string, assignedGroups: ReadonlyMap<string, string>): Promise<boolean> {
    if (assignedGroups.size === 0) return false;
    for await (const page of pages<{ id: string }>(`${graph}/users/${encodeURIComponent(userId)}/memberOf/microsoft.graph.group?$select=id&$top=999`)) {
      if (page.some((g) => assignedGroups.has(g.id))) return true;
    }
    return false;
  }

  /**
   * The changes since the cursor's delta links: users whose profile changed or who were deleted
   * (users/delta), members added to or removed from an assigned group (groups/delta, members@delta).
   * Each affected user is read whole (a delta entry carries only what changed) and checked against
   * the app's assignments as they are now: assigned directly, or a member of an assigned group.
   */
  async function* changesSince(links: EntraCursor, done: (next: EntraCursor) => void): AsyncGenerator<DirectoryChange[]> {
    const direct = new Set<string>();
    const assignedGroups = new Map<string, string>();
    for await (const page of assignments()) {
      for (const a of page) {
        if (a.principalType === "User") direct.add(a.principalId);
        if (a.principalType === "Group") assignedGroups.set(a.principalId, a.principalDisplayName ?? a.principalId);
      }
    }
    const next: EntraCursor = { users: "", groups: "" };
    /** user id → whether the feed last said it was removed from the directory. */
    const touched = new Map<string, boolean>();
    for await (const page of deltaRound<DeltaUser>(links.users, (link) => (next.users = link))) {
      for (const u of page) touched.set(u.id, u["@removed"] !== undefined);
    }
    const memberships: DirectoryChange[] = [];
    for await (const page of deltaRound<DeltaGroup>(links.groups, (link) => (next.groups = link))) {
      for (const g of page) {
        const name = assignedGroups.get(g.id);
        if (name === undefined) continue; // a group not assigned to the app: its members are not the app's
        const group: DirectoryGroup = { idpId: g.id, externalId: g.id, name: g.displayName ?? name };
        for (const m of g["members@delta"] ?? []) {
          if (m["@odata.type"] !== undefined && m["@odata.type"] !== "#microsoft.graph.user") continue;
          memberships.push({ membership: { group, userIdpId: m.id, member: m["@removed"] === undefined } });
          if (!touched.has(m.id)) touched.set(m.id, false);
        }
      }
    }
    let batch: DirectoryChange[] = [];
    for (const [id, removed] of touched) {
      const user = removed ? null : await userById(id);
      if (user === null) {
        // Deleted: a soft-deleted user's profile is still in deletedItems, so it can be matched by its externalId attribute.
        const gone = await userById(id, `directory/deletedItems/${encodeURIComponent(id)}`);
        batch.push({ idpId: id, assigned: false, ...(gone ? { user: entraUser({ ...gone, accountEnabled: false }, settings.external_id_attribute, "unknown") } : {}) });
      } else if (direct.has(id)) {
        batch.push({ user: entraUser(user, settings.external_id_attribute, "direct"), assigned: true });
      } else if (await inAssignedGroup(id, assignedGroups)) {
        batch.push({ user: entraUser(user, settings.external_id_attribute, "group"), assigned: true });
      } else {
        batch.push({ idpId: id, assigned: false, user: entraUser(user, settings.external_id_attribute, "unknown") });
      }
      if (batch.length >= CHANGE_PAGE) {
        yield batch;
        batch = [];
      }
    }
    if (batch.length > 0) yield batch;
    if (memberships.length > 0) yield memberships;
    done(next);
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
    changes(cursor) {
      let next: string | null = null;
      async function* feed(): AsyncGenerator<DirectoryChange[]> {
        if (cursor === null) {
          // A full pass reads the state itself: start both feeds from now, with no data ("sync from now").
          const links: EntraCursor = { users: "", groups: "" };
          for await (const _ of deltaRound(`${graph}/users/delta?$select=${USER_FIELDS}&$deltatoken=latest`, (link) => (links.users = link))) void _;
          for await (const _ of deltaRound(`${graph}/groups/delta?$select=displayName,members&$deltatoken=latest`, (link) => (links.groups = link))) void _;
          next = JSON.stringify(links);
          return;
        }
        const links = parseCursor(cursor);
        if (!links) throw new DirectoryResyncRequired("entra", "the stored cursor is not a pair of delta links");
        yield* changesSince(links, (done) => (next = JSON.stringify(done)));
      }
      return { pages: feed(), cursor: () => next };
    },
  };
}
