import { expect } from "chai";
import { DirectoryDiff, GroupDiff, diffMemberChanges, diffMembers, type StoredUser } from "../../reconciler/directory/diff.ts";
import { StoredUserTable } from "../../reconciler/directory/storedUserTable.ts";
import { DirectoryRequestError } from "../../reconciler/directory/connectors/types.ts";
import { checkBlastRadius } from "../../reconciler/directory/guard.ts";
import type { DirectoryUser } from "../../reconciler/directory/connectors/types.ts";
import { oktaUser } from "../../reconciler/directory/connectors/okta.ts";
import { entraUser, isResyncAnswer } from "../../reconciler/directory/connectors/entra.ts";
import { nextLink } from "../../reconciler/directory/connectors/http.ts";

const stored = (props: Partial<StoredUser> & { id: string }): StoredUser => ({
  externalId: null, userName: `${props.id}@acme.com`, email: `${props.id}@acme.com`, givenName: "G", familyName: "F", active: true, ...props,
});
const idp = (props: Partial<DirectoryUser> & { idpId: string }): DirectoryUser => ({
  externalId: props.idpId, userName: `${props.idpId}@acme.com`, email: `${props.idpId}@acme.com`, givenName: "G", familyName: "F",
  active: true, status: "ACTIVE", assignment: "direct", ...props,
});

describe("directory diff (pure)", () => {
  it("matches by externalId first, even when the userName changed, and reports the rename as drift", () => {
    const diff = new DirectoryDiff([stored({ id: "u1", externalId: "00u1", userName: "old@acme.com", email: "old@acme.com" })]);
    const [f] = diff.diffUser(idp({ idpId: "00u1", userName: "new@acme.com", email: "new@acme.com" }));
    expect(f).to.deep.include({ kind: "idp_attribute_drift", subject: { type: "user", id: "u1" }, reason: "profile_change_never_arrived" });
    expect(f!.idp).to.deep.equal({ userName: "new@acme.com", "emails[primary].value": "new@acme.com" });
  });

  it("falls back to userName, then email, case-insensitively, and backfills the externalId it lacked", () => {
    const diff = new DirectoryDiff([stored({ id: "u1", userName: "ADA@acme.com" }), stored({ id: "u2", userName: "x", email: "Bob@Acme.com" })]);
    expect(diff.match(idp({ idpId: "00u1", userName: "ada@acme.com" }))).to.deep.include({ by: "userName" });
    expect(diff.match(idp({ idpId: "00u2", userName: "nobody", email: "bob@acme.com" }))).to.deep.include({ by: "email" });
    expect(diff.diffUser(idp({ idpId: "00u1", userName: "ada@acme.com", email: "u1@acme.com" }))[0]!.idp).to.deep.equal({ externalId: "00u1" });
  });

  it("never matches by userName onto a user that holds another externalId: that is an ambiguity with no repair", () => {
    const diff = new DirectoryDiff([stored({ id: "u1", externalId: "other-idp-id", userName: "ada@acme.com" })]);
    const [f] = diff.diffUser(idp({ idpId: "00u9", userName: "ada@acme.com" }));
    expect(f).to.deep.include({ kind: "idp_user_missing", reason: "ambiguous_match", action: null });
  });

  it("reports two stored candidates for one IdP user as ambiguous", () => {
    const diff = new DirectoryDiff([stored({ id: "u1", userName: "a", email: "same@acme.com" }), stored({ id: "u2", userName: "b", email: "same@acme.com" })]);
    const [f] = diff.diffUser(idp({ idpId: "00u1", externalId: null, userName: null, email: "same@acme.com" }));
    expect(f).to.deep.include({ reason: "ambiguous_match", stored: { candidates: ["u1", "u2"] } });
  });

  it("reports one stored user claimed by two IdP users once, as ambiguous for the second", () => {
    const diff = new DirectoryDiff([stored({ id: "u1", userName: "ada@acme.com" })]);
    expect(diff.diffUser(idp({ idpId: "00u1", userName: "ada@acme.com", email: "u1@acme.com" }))[0]!.kind).to.equal("idp_attribute_drift");
    expect(diff.diffUser(idp({ idpId: "00u2", externalId: null, userName: "ada@acme.com", email: "u1@acme.com" }))[0]).to.deep.include({ reason: "ambiguous_match" });
  });

  it("reports suspended, unknown and never-provisioned users, and ignores inactive IdP users nobody provisioned", () => {
    const diff = new DirectoryDiff([stored({ id: "u1", externalId: "00u1" }), stored({ id: "u2", externalId: "00u2" }), stored({ id: "u3", externalId: "00u3", active: false })]);
    expect(diff.diffUser(idp({ idpId: "00u1", active: false, status: "SUSPENDED" }))[0]).to.deep.include({ kind: "idp_user_inactive", reason: "suspended_in_idp" });
    expect(diff.diffUser(idp({ idpId: "00u7" }))[0]).to.deep.include({ kind: "idp_user_missing", action: "provision_user" });
    expect(diff.diffUser(idp({ idpId: "00u8", active: false }))).to.deep.equal([]);
    expect([...diff.unknownUsers()].map((f) => [f.kind, f.subject])).to.deep.equal([["idp_user_unknown", { type: "user", id: "u2" }]]);
  });

  it("diffs a team's members and matches groups by externalId, then name; an unmatched team is idp_group_missing", () => {
    const groups = new GroupDiff([{ id: "t1", externalId: "g-1", displayName: "Eng", members: 2 }, { id: "t2", externalId: null, displayName: "Ops", members: 1 }, { id: "t3", externalId: null, displayName: "Gone", members: 4 }]);
    const eng = groups.match({ idpId: "g-1", externalId: "g-1", name: "Renamed" })!;
    expect(eng.id).to.equal("t1");
    expect(groups.match({ idpId: "00g2", externalId: null, name: "ops" })!.id).to.equal("t2");
    expect([...groups.missingGroups()].map((f) => [f.kind, f.subject])).to.deep.equal([["idp_group_missing", { type: "team", id: "t3" }]]);
    const members = diffMembers(eng, { idpId: "g-1", externalId: "g-1", name: "Eng" }, new Set(["u1", "u3"]), new Set(["u1", "u2"]));
    expect(members.map((f) => [f.kind, f.subject])).to.deep.equal([
      ["idp_member_missing", { type: "membership", team_id: "t1", user_id: "u3" }],
      ["idp_member_stale", { type: "membership", team_id: "t1", user_id: "u2" }],
    ]);
  });

  it("diffs an incremental run's member changes against the team: an addition it lacks is missing, a removal it holds is stale", () => {
    const team = { id: "t1", externalId: "g-1", displayName: "Eng", members: 2 };
    const group = { idpId: "g-1", externalId: "g-1", name: "Eng" };
    const findings = diffMemberChanges(team, group, ["u3", "u1"], ["u2", "u9"], new Set(["u1", "u2"]));
    expect(findings.map((f) => [f.kind, f.subject])).to.deep.equal([
      ["idp_member_missing", { type: "membership", team_id: "t1", user_id: "u3" }],
      ["idp_member_stale", { type: "membership", team_id: "t1", user_id: "u2" }],
    ]);
    expect(findings[1]!.stored).to.deep.equal({ member: true, team_members: 2 });
  });

  it("matches an unassigned user by its IdP profile when there is one, else only by the IdP id as externalId", () => {
    const diff = new DirectoryDiff([stored({ id: "u1", externalId: "ada" }), stored({ id: "u2", externalId: "00u2" }), stored({ id: "u3", externalId: "bob", active: false })]);
    const [f] = diff.diffUnassigned("oid-1", idp({ idpId: "oid-1", externalId: "ada", active: false }));
    expect(f).to.deep.include({ kind: "idp_user_inactive", reason: "unassigned_in_idp", subject: { type: "user", id: "u1" }, action: "deactivate_user" });
    expect(diff.storedIdOf("oid-1")).to.equal("u1");
    expect(diff.diffUnassigned("oid-1")).to.deep.equal([]); // no profile: the Graph object id is nobody's externalId
    expect(diff.diffUnassigned("00u2")[0]!.subject).to.deep.equal({ type: "user", id: "u2" });
    expect(diff.diffUnassigned("oid-3", idp({ idpId: "oid-3", externalId: "bob" }))).to.deep.equal([]); // already inactive here
  });

  it("packs stored users without losing a field: nulls stay null, lookups are exact and case-insensitive where the diff folds, across growth", () => {
    const table = new StoredUserTable();
    const users: StoredUser[] = [];
    for (let i = 0; i < 3000; i++) {
      users.push({ id: `user_${i}`, externalId: i % 3 === 0 ? null : `ext-${i}`, userName: `User${i}@Acme.com`, email: i % 5 === 0 ? null : `u${i}@acme.com`, givenName: i % 2 ? "" : "Given", familyName: null, active: i % 7 !== 0 });
    }
    for (const u of users) table.add(u);
    expect(table.size).to.equal(3000);
    for (const i of [0, 1, 2, 5, 7, 2999]) expect(table.user(i)).to.deep.equal(users[i]);
    expect(table.withExternalId("ext-4")).to.deep.equal([4]);
    expect(table.withExternalId("ext-3")).to.deep.equal([]);
    expect(table.withUserName("user17@acme.com")).to.deep.equal([17]);
    expect(table.withEmail("u10@acme.com")).to.deep.equal([]);
    const twins = new StoredUserTable();
    twins.add({ ...users[1]!, id: "a" });
    twins.add({ ...users[1]!, id: "b" });
    expect(twins.withEmail("u1@acme.com").sort()).to.deep.equal([0, 1]);
    table.claim(4, "00u4");
    table.claim(4, "00u-other"); // the first claim holds
    expect([table.claimedBy("00u4"), table.claimedBy("00u-other"), table.claimerOf(4)]).to.deep.equal(["user_4", undefined, "00u4"]);
  });

  it("guards repairs that deactivate more than the ratio or empty a team, and lets smaller ones through", () => {
    const deactivate = (id: string) => ({ kind: "idp_user_unknown" as const, reason: "x", subject: { type: "user" as const, id }, stored: {}, expected: {}, action: "deactivate_user" as const });
    expect(checkBlastRadius([deactivate("a")], { activeUsers: 10, maxDeactivationRatio: 0.2 })).to.equal(null);
    expect(checkBlastRadius([deactivate("a"), deactivate("b"), deactivate("c")], { activeUsers: 10, maxDeactivationRatio: 0.2 })).to.deep.include({ deactivations: 3, active_users: 10 });
    const emptying = diffMembers({ id: "t1", externalId: null, displayName: "Eng", members: 2 }, { idpId: "g", externalId: null, name: "Eng" }, new Set(), new Set(["u1", "u2"]));
    expect(checkBlastRadius(emptying, { activeUsers: 100, maxDeactivationRatio: 0.2 })!.teams_emptied).to.deep.equal(["t1"]);
  });
});

describe("directory connectors: the vendor shapes they rely on", () => {
  it("reads an Okta app user with its embedded user (expand=user): SUSPENDED and DEPROVISIONED are inactive, scope says how it is assigned", () => {
    const appUser = {
      id: "00u1", externalId: null, scope: "GROUP", status: "PROVISIONED", credentials: { userName: "ada@acme.com" },
      _embedded: { user: { id: "00u1", status: "SUSPENDED", profile: { login: "ada@acme.com", email: "ada@acme.com", firstName: "Ada", lastName: "Lovelace" } } },
    };
    expect(oktaUser(appUser)).to.deep.equal({
      idpId: "00u1", externalId: "00u1", userName: "ada@acme.com", email: "ada@acme.com", givenName: "Ada", familyName: "Lovelace", active: false, status: "SUSPENDED", assignment: "group",
    });
  });

  it("knows Graph's resync answers: 410 Gone and the sync state codes, not other errors", () => {
    expect(isResyncAnswer(new DirectoryRequestError("entra", 410, "resyncRequired Resync required."))).to.equal(true);
    expect(isResyncAnswer(new DirectoryRequestError("entra", 400, "syncStateNotFound The sync state was not found."))).to.equal(true);
    expect(isResyncAnswer(new DirectoryRequestError("entra", 400, "Request_BadRequest Invalid filter clause"))).to.equal(false);
    expect(isResyncAnswer(new Error("syncStateNotFound"))).to.equal(false);
  });

  it("reads a Graph user with the configured externalId attribute and accountEnabled", () => {
    const user = { id: "oid", userPrincipalName: "ada@contoso.com", mail: "ada@contoso.com", mailNickname: "ada", givenName: "Ada", surname: "L", accountEnabled: false };
    expect(entraUser(user, "mailNickname", "direct")).to.include({ externalId: "ada", userName: "ada@contoso.com", active: false, status: "accountEnabled=false" });
    expect(entraUser(user, "id", "direct").externalId).to.equal("oid");
  });

  it('follows Okta\'s Link header to rel="next" and stops without one', () => {
    const headers = new Headers({ link: '<https://acme.okta.com/api/v1/apps/a/users?limit=200>; rel="self", <https://acme.okta.com/api/v1/apps/a/users?after=00u9&limit=200>; rel="next"' });
    expect(nextLink(headers)).to.equal("https://acme.okta.com/api/v1/apps/a/users?after=00u9&limit=200");
    expect(nextLink(new Headers({ link: '<https://acme.okta.com/x>; rel="self"' }))).to.equal(null);
  });
});
