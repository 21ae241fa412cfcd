import { QueryTypes } from "sequelize";
import { shared } from "./rootHooks.ts";
import { admin, scim } from "./http.ts";
import { createOrgWithToken, unique } from "./factories.ts";
import type { FakeOkta, FakeOktaUser } from "../fakes/okta.ts";

/*
 * An organization whose Okta app and Rollcall agree, built the way it happens in life: Okta pushes
 * each assigned user over SCIM (externalId = the Okta user id, userName = the login) and pushes
 * its groups; the fake Okta holds the same users and groups. Scenarios then change the fake the
 * way an admin would in Okta, without the SCIM call that should have followed.
 */

export type OktaWorld = {
  orgId: string;
  token: string;
  connectionId: string;
  /** Okta user id → Rollcall user id. */
  userIds: Map<string, string>;
  /** Okta group id → Rollcall team id. */
  teamIds: Map<string, string>;
  oktaUsers: FakeOktaUser[];
};

const base = () => shared.service.url!;

/** Rows of a query against the shared test database. */
export const rowsOf = <T extends object>(query: string, bind: unknown[]) =>
  shared.service.deps.db.sequelize.query<T>(query, { bind, type: QueryTypes.SELECT });

/** An Okta user in the fake, not yet anywhere else. */
export function oktaUser(fake: FakeOkta, props: Partial<FakeOktaUser> = {}): FakeOktaUser {
  const id = props.id ?? `00u${unique()}`;
  const login = props.login ?? `${id}@acme.example`;
  const user: FakeOktaUser = { id, login, email: login, firstName: "Given", lastName: id, status: "ACTIVE", lastUpdated: "2026-12-01T00:00:00.000Z", ...props };
  fake.state.users.set(id, user);
  return user;
}

/** The SCIM body Okta sends for one of its users. */
export const oktaScimBody = (u: FakeOktaUser) => ({
  schemas: ["urn:ietf:params:scim:schemas:core:2.0:User"],
  userName: u.login,
  externalId: u.id,
  name: { givenName: u.firstName, familyName: u.lastName },
  emails: [{ value: u.email, type: "work", primary: true }],
  active: true,
});

/**
 * `users` Okta users assigned to the app and provisioned here, plus the given groups (pushed to
 * Rollcall and assigned in Okta), and a directory pointing at the fake.
 */
export async function oktaWorld(fake: FakeOkta, options: { users: number; groups?: Array<{ name: string; members: number[] }> }): Promise<OktaWorld> {
  const { orgId, token, connectionId } = await createOrgWithToken(base(), { provider: "okta" });
  const userIds = new Map<string, string>();
  const oktaUsers: FakeOktaUser[] = [];
  for (let i = 0; i < options.users; i++) {
    const u = oktaUser(fake);
    fake.state.appUsers.set(u.id, "USER");
    const res = await scim(base(), token, "POST", "/Users", oktaScimBody(u));
    if (res.status !== 201) throw new Error(`SCIM create failed: ${res.status} ${res.text}`);
    userIds.set(u.id, res.body.id);
    oktaUsers.push(u);
  }
  const teamIds = new Map<string, string>();
  for (const group of options.groups ?? []) {
    const id = `00g${unique()}`;
    const name = `${group.name} ${unique()}`;
    const members = group.members.map((i) => oktaUsers[i]!.id);
    fake.state.groups.set(id, { id, name, members: new Set(members) });
    fake.state.appGroups.add(id);
    const res = await scim(base(), token, "POST", "/Groups", {
      schemas: ["urn:ietf:params:scim:schemas:core:2.0:Group"], displayName: name, members: members.map((m) => ({ value: userIds.get(m)! })),
    });
    if (res.status !== 201) throw new Error(`SCIM group create failed: ${res.status} ${res.text}`);
    teamIds.set(id, res.body.id);
  }
  const dir = await admin(base(), "PUT", `/v1/organizations/${orgId}/enterprise_connections/${connectionId}/directory`, {
    provider: "okta", base_url: fake.url, app_id: fake.options.appId, credentials: { api_token: fake.options.apiToken },
  });
  if (dir.status !== 200) throw new Error(`directory PUT failed: ${dir.status} ${dir.text}`);
  return { orgId, token, connectionId, userIds, teamIds, oktaUsers };
}

/** POST …/reconcile. */
export const reconcileVia = (orgId: string, body: Record<string, unknown> = {}) => admin(base(), "POST", `/v1/organizations/${orgId}/reconcile`, body);

/** Events of the organization in commit order. */
export const eventsOf = (orgId: string) =>
  rowsOf<{ type: string; subject_id: string; payload: { data: Record<string, unknown> } }>(`SELECT type, subject_id, payload FROM events WHERE organization_id = $1 ORDER BY seq`, [orgId]);

/** Users of the organization as stored. */
export const usersOf = (orgId: string) =>
  rowsOf<{ id: string; user_name: string; external_id: string | null; active: boolean; first_name: string | null; last_name: string | null }>(
    `SELECT id, user_name, external_id, active, first_name, last_name FROM users WHERE organization_id = $1 AND deleted_at IS NULL ORDER BY id`, [orgId]);

/** Member user ids of a team. */
export const membersOf = async (teamId: string) =>
  (await rowsOf<{ user_id: string }>(`SELECT user_id FROM team_memberships WHERE team_id = $1 ORDER BY user_id`, [teamId])).map((r) => r.user_id).sort();
