import { expect } from "chai";
import { shared } from "../helpers/rootHooks.ts";
import { scim } from "../helpers/http.ts";
import { createOrgWithToken, scimUserBody, unique } from "../helpers/factories.ts";

const base = () => shared.service.url!;
const PATCH = "urn:ietf:params:scim:api:messages:2.0:PatchOp";

type Fixture = { token: string; ids: Record<"named" | "nameless" | "twoEmails" | "member", string>; teamId: string; teamName: string };

/**
 * One organization per run: a user with a name and one work email, one without name or emails
 * (its userName is the email), one with a work and a home email, and one that is a team member.
 */
async function fixture(): Promise<Fixture> {
  const { token } = await createOrgWithToken(base());
  const create = async (body: Record<string, unknown>) => {
    const res = await scim(base(), token, "POST", "/Users", body);
    expect(res.status, res.text).to.equal(201);
    return res.body.id as string;
  };
  const named = await create(scimUserBody({ name: { givenName: "Ada", familyName: "Lovelace" } }));
  const nameless = await create({ userName: `bare.${unique()}@example.com` });
  const twoEmails = await create(scimUserBody({
    name: { familyName: "Xavier" },
    emails: [{ value: `w.${unique()}@example.com`, type: "work" }, { value: `h.${unique()}@example.com`, type: "home" }],
  }));
  const member = await create(scimUserBody({ name: { familyName: "Member" } }));
  const teamName = `Finance ${unique()}`;
  const team = await scim(base(), token, "POST", "/Groups", { displayName: teamName, members: [{ value: member }] });
  expect(team.status).to.equal(201);
  return { token, ids: { named, nameless, twoEmails, member }, teamId: team.body.id, teamName };
}

async function matching(f: Fixture, filter: string): Promise<string[]> {
  const res = await scim(base(), f.token, "GET", `/Users?filter=${encodeURIComponent(filter)}&count=50`);
  expect(res.status, `${filter}: ${res.text}`).to.equal(200);
  return (res.body.Resources as Array<{ id: string }>).map((r) => r.id).sort();
}

describe("SCIM filters per RFC 7644 §3.4.2.2 (over HTTP, in SQL)", () => {
  let f: Fixture;
  before(async () => {
    f = await fixture();
  });

  it("finds a user by the team id GET shows in its groups (groups.value eq, groups eq, groups[value eq])", async () => {
    const get = await scim(base(), f.token, "GET", `/Users/${f.ids.member}`);
    expect(get.body.groups.map((g: { value: string }) => g.value)).to.deep.equal([f.teamId]);
    expect(await matching(f, `groups.value eq "${f.teamId}"`)).to.deep.equal([f.ids.member]);
    expect(await matching(f, `groups eq "${f.teamId}"`)).to.deep.equal([f.ids.member]);
    expect(await matching(f, `groups[value eq "${f.teamId}"]`)).to.deep.equal([f.ids.member]);
  });

  it("finds a user by its groups' display name, type and presence", async () => {
    expect(await matching(f, `groups.display eq "${f.teamName.toUpperCase()}"`)).to.deep.equal([f.ids.member]);
    expect(await matching(f, `groups[display sw "finance" and type eq "direct"]`)).to.deep.equal([f.ids.member]);
    expect(await matching(f, "groups pr")).to.deep.equal([f.ids.member]);
    expect(await matching(f, "not (groups pr)")).to.deep.equal([f.ids.named, f.ids.nameless, f.ids.twoEmails].sort());
  });

  it("answers a filter on groups.$ref, which SQL cannot see, with 400 invalidFilter rather than a wrong answer", async () => {
    const res = await scim(base(), f.token, "GET", `/Users?filter=${encodeURIComponent('groups.$ref co "Groups"')}`);
    expect(res.status).to.equal(400);
    expect(res.body.scimType).to.equal("invalidFilter");
  });

  it("applies a value filter on a single complex attribute only to users that have it (name[not …])", async () => {
    expect(await matching(f, 'name[not (familyName sw "x")]')).to.deep.equal([f.ids.named, f.ids.member].sort());
    expect(await matching(f, 'not (name[familyName sw "x"])')).to.deep.equal([f.ids.named, f.ids.nameless, f.ids.member].sort());
  });

  it("applies a value filter on a multi-valued attribute only to existing values (emails[not …])", async () => {
    // The nameless user has no emails at all: no value exists for the filter to hold on.
    expect(await matching(f, 'emails[not (type eq "home")]')).to.deep.equal([f.ids.named, f.ids.twoEmails, f.ids.member].sort());
    expect(await matching(f, 'emails[not (type eq "work")]')).to.deep.equal([f.ids.twoEmails]);
  });

  it("matches ne on a multi-valued attribute when any value differs, never on a user without values", async () => {
    expect(await matching(f, 'emails.type ne "work"')).to.deep.equal([f.ids.twoEmails]);
    expect(await matching(f, 'not (emails.type eq "work")')).to.deep.equal([f.ids.nameless]);
    expect(await matching(f, `groups.value ne "${f.teamId}"`)).to.deep.equal([]);
  });
});

describe("SCIM PATCH through a value filter that matches nothing (RFC 7644 §3.5.2.3)", () => {
  it("answers 400 noTarget and stores nothing when the new email would have no address", async () => {
    const { token } = await createOrgWithToken(base());
    const user = await scim(base(), token, "POST", "/Users", scimUserBody());
    const res = await scim(base(), token, "PATCH", `/Users/${user.body.id}`, {
      schemas: [PATCH],
      Operations: [{ op: "replace", path: 'emails[type eq "home"].primary', value: true }],
    });
    expect(res.status).to.equal(400);
    expect(res.body.scimType).to.equal("noTarget");
    const after = await scim(base(), token, "GET", `/Users/${user.body.id}`);
    expect(after.body.emails).to.deep.equal(user.body.emails);
    expect(after.body.meta.version).to.equal('W/"1"');
  });

  it("creates the work email Entra's emails[type eq \"work\"].value replace names, with its address", async () => {
    const { token } = await createOrgWithToken(base());
    const body = scimUserBody({ emails: [{ value: `h.${unique()}@example.com`, type: "home" }] });
    const user = await scim(base(), token, "POST", "/Users", body);
    const work = `w.${unique()}@example.com`;
    const res = await scim(base(), token, "PATCH", `/Users/${user.body.id}`, {
      schemas: [PATCH],
      Operations: [{ op: "Replace", path: 'emails[type eq "work"].value', value: work }],
    });
    expect(res.status).to.equal(200);
    expect(res.body.emails).to.deep.equal([...(body.emails as unknown[]), { type: "work", value: work }]);
  });
});
