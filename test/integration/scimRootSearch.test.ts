import { expect } from "chai";
import { scim, type JsonResponse } from "../helpers/http.ts";
import { createOrgWithToken, scimUserBody, unique } from "../helpers/factories.ts";
import { shared } from "../helpers/rootHooks.ts";

/*
 * The root POST /.search (RFC 7644 §3.4.3): users and groups searched together, in one creation
 * order, with index paging and RFC 9865 cursors.
 */

const base = () => shared.service.url!;
const SEARCH = "urn:ietf:params:scim:api:messages:2.0:SearchRequest";
const GROUP = "urn:ietf:params:scim:schemas:core:2.0:Group";

type Created = { id: string; type: "User" | "Group" };

async function createUser(token: string, userName = `root.${unique()}@example.com`, extra: Record<string, unknown> = {}): Promise<Created> {
  const res = await scim(base(), token, "POST", "/Users", scimUserBody({ userName, ...extra }));
  expect(res.status, res.text).to.equal(201);
  return { id: res.body.id, type: "User" };
}

async function createGroup(token: string, displayName = `Team ${unique()}`, extra: Record<string, unknown> = {}): Promise<Created> {
  const res = await scim(base(), token, "POST", "/Groups", { schemas: [GROUP], displayName, ...extra });
  expect(res.status, res.text).to.equal(201);
  return { id: res.body.id, type: "Group" };
}

/** Users and groups alternating (u, g, u, g, …), in creation order. */
async function createMixed(token: string, n: number, prefix = `mix${unique()}`): Promise<Created[]> {
  const out: Created[] = [];
  for (let i = 0; i < n; i++) {
    out.push(i % 2 === 0 ? await createUser(token, `${prefix}.${i}@example.com`) : await createGroup(token, `${prefix} ${i}`));
  }
  return out;
}

const search = (token: string, body: Record<string, unknown>) => scim(base(), token, "POST", "/.search", { schemas: [SEARCH], ...body });
const idsOf = (pages: JsonResponse[]) => pages.flatMap((p) => (p.body.Resources ?? []).map((r: { id: string }) => r.id));

/** Walks the root search from the empty cursor to the page without nextCursor. */
async function walk(token: string, body: Record<string, unknown>, onPage?: () => Promise<void>): Promise<JsonResponse[]> {
  const pages: JsonResponse[] = [];
  let cursor = "";
  for (;;) {
    const page = await search(token, { ...body, cursor });
    expect(page.status, page.text).to.equal(200);
    pages.push(page);
    if (pages.length > 500) throw new Error("the walk does not end");
    if (page.body.nextCursor === undefined) return pages;
    cursor = page.body.nextCursor;
    await onPage?.();
  }
}

describe("SCIM root POST /.search (RFC 7644 §3.4.3)", () => {
  it("lists users and groups together in creation order, with index paging and each resource in its own shape", async () => {
    const { token } = await createOrgWithToken(base());
    const created = await createMixed(token, 7);
    const all = await search(token, {});
    expect(all.status, all.text).to.equal(200);
    expect(all.body.schemas).to.deep.equal(["urn:ietf:params:scim:api:messages:2.0:ListResponse"]);
    expect(all.body.totalResults).to.equal(7);
    expect(all.body.Resources.map((r: { id: string; meta: { resourceType: string } }) => [r.id, r.meta.resourceType])).to.deep.equal(
      created.map((c) => [c.id, c.type]),
    );
    const group = all.body.Resources[1];
    expect(group.schemas).to.deep.equal([GROUP]);
    expect(group.meta.location).to.match(/\/scim\/v2\/Groups\/team_/);
    const second = await search(token, { startIndex: 3, count: 2 });
    expect(second.body).to.include({ totalResults: 7, startIndex: 3, itemsPerPage: 2 });
    expect(idsOf([second])).to.deep.equal(created.slice(2, 4).map((c) => c.id));
    const newest = await search(token, { sortOrder: "descending", count: 3 });
    expect(idsOf([newest])).to.deep.equal(created.slice(-3).reverse().map((c) => c.id));
    const countOnly = await search(token, { count: 0 });
    expect(countOnly.body.totalResults).to.equal(7);
    expect(countOnly.body).not.to.have.property("Resources");
  });

  it("applies a filter to the combined set: an attribute a type does not have does not match there", async () => {
    const { token } = await createOrgWithToken(base());
    const tag = unique();
    const ada = await createUser(token, `ada.${tag}@example.com`, { externalId: `ext-${tag}` });
    const bob = await createUser(token, `bob.${tag}@example.com`);
    const team = await createGroup(token, `Eng ${tag}`, { externalId: `ext-${tag}`, members: [{ value: ada.id }] });
    const other = await createGroup(token, `Ops ${tag}`);
    const ids = async (filter: string, extra: Record<string, unknown> = {}) => {
      const res = await search(token, { filter, ...extra });
      expect(res.status, `${filter}: ${res.text}`).to.equal(200);
      expect(res.body.totalResults, filter).to.equal(res.body.Resources.length);
      return idsOf([res]);
    };
    expect(await ids(`userName sw "ada.${tag}"`)).to.deep.equal([ada.id]);
    expect(await ids(`displayName sw "Eng ${tag}"`)).to.deep.equal([team.id]);
    // externalId is common to both types.
    expect(await ids(`externalId eq "ext-${tag}"`)).to.deep.equal([ada.id, team.id]);
    expect(await ids(`userName ew "${tag}@example.com" or displayName ew "${tag}"`)).to.deep.equal([ada.id, bob.id, team.id, other.id]);
    expect(await ids(`members[value eq "${ada.id}"]`)).to.deep.equal([team.id]);
    expect(await ids(`userName sw "bob.${tag}" and displayName pr`)).to.deep.equal([]);
    // not (no such attribute) holds for every resource of the type that lacks it.
    expect(await ids(`not (members pr) and userName ew "${tag}@example.com"`)).to.deep.equal([ada.id, bob.id]);
    expect(await ids(`not (userName pr) and displayName ew "${tag}"`)).to.deep.equal([team.id, other.id]);
    // A group's members and a user's groups come from the memberships, in both directions.
    expect(await ids(`groups.value eq "${team.id}" or members.value eq "${ada.id}"`)).to.deep.equal([ada.id, team.id]);
    // meta.resourceType picks one type (it is known per type, not stored).
    const mine = `userName ew "${tag}@example.com" or displayName ew "${tag}"`;
    expect(await ids(`meta.resourceType eq "Group" and (${mine})`)).to.deep.equal([team.id, other.id]);
    expect(await ids(`meta.resourceType ne "Group" and (${mine})`)).to.deep.equal([ada.id, bob.id]);
    const unknown = await search(token, { filter: 'favouriteColour eq "blue"' });
    expect(unknown.status).to.equal(400);
    expect(unknown.body.scimType).to.equal("invalidFilter");
    // sortBy an attribute one type lacks: those resources sort last, as a missing value does.
    const sorted = await search(token, { filter: `userName ew "${tag}@example.com" or displayName ew "${tag}"`, sortBy: "userName", sortOrder: "descending" });
    expect(idsOf([sorted])).to.deep.equal([bob.id, ada.id, team.id, other.id]);
    const badSort = await search(token, { sortBy: "favouriteColour" });
    expect(badSort.status).to.equal(400);
    expect(badSort.body.scimType).to.equal("invalidValue");
  });

  it("projects every resource with attributes / excludedAttributes", async () => {
    const { token } = await createOrgWithToken(base());
    const user = await createUser(token);
    await createGroup(token, `Eng ${unique()}`, { members: [{ value: user.id }] });
    const res = await search(token, { attributes: ["userName", "displayName"] });
    expect(res.body.Resources.map((r: Record<string, unknown>) => Object.keys(r).sort())).to.deep.equal([
      ["id", "meta", "schemas", "userName"],
      ["displayName", "id", "meta", "schemas"],
    ]);
    const lean = await search(token, { excludedAttributes: ["groups", "members"] });
    expect(lean.body.Resources[0]).not.to.have.property("groups");
    expect(lean.body.Resources[1]).not.to.have.property("members");
    const full = await search(token, {});
    expect(full.body.Resources[1].members.map((m: { value: string }) => m.value)).to.deep.equal([user.id]);
  });

  it("walks users and groups with RFC 9865 cursors: every resource once, in creation order, combined with a filter", async () => {
    const { token } = await createOrgWithToken(base());
    const prefix = `walk${unique()}`;
    const created = await createMixed(token, 11, prefix);
    await createMixed(token, 4, `other${unique()}`);
    const filter = `userName sw "${prefix}." or displayName sw "${prefix} "`;
    const pages = await walk(token, { filter, count: 4 });
    expect(pages.map((p) => p.body.itemsPerPage)).to.deep.equal([4, 4, 3]);
    expect(idsOf(pages)).to.deep.equal(created.map((c) => c.id));
    for (const page of pages) {
      expect(page.body.totalResults).to.equal(11);
      expect(page.body).not.to.have.property("startIndex");
    }
    const newest = await walk(token, { filter, count: 5, sortOrder: "descending" });
    expect(idsOf(newest)).to.deep.equal(created.map((c) => c.id).reverse());
    // A cursor belongs to its endpoint and query: /Users' cursor is not the root search's, nor another filter's.
    const usersCursor = (await scim(base(), token, "GET", "/Users?cursor=&count=1")).body.nextCursor;
    const refused = [
      await search(token, { cursor: usersCursor, count: 1 }),
      await search(token, { cursor: pages[0]!.body.nextCursor, count: 4, filter: 'displayName pr' }),
      await scim(base(), token, "POST", "/Users/.search", { schemas: [SEARCH], cursor: pages[0]!.body.nextCursor }),
    ];
    for (const res of refused) {
      expect(res.status, res.text).to.equal(400);
      expect(res.body.scimType).to.equal("invalidCursor");
    }
    const both = await search(token, { cursor: "", startIndex: 1 });
    expect(both.status).to.equal(400);
    expect(both.body.scimType).to.equal("invalidValue");
  });

  it("keeps organizations apart: no other organization's resources, and its cursors are invalidCursor", async () => {
    const a = await createOrgWithToken(base());
    const b = await createOrgWithToken(base());
    const aCreated = await createMixed(a.token, 4);
    const bCreated = await createMixed(b.token, 3);
    expect(idsOf([await search(b.token, {})])).to.deep.equal(bCreated.map((c) => c.id));
    expect((await search(b.token, { filter: `id eq "${aCreated[0]!.id}" or id eq "${aCreated[1]!.id}"` })).body.totalResults).to.equal(0);
    const aFirst = await search(a.token, { cursor: "", count: 2 });
    const stolen = await search(b.token, { cursor: aFirst.body.nextCursor, count: 2 });
    expect(stolen.status).to.equal(400);
    expect(stolen.body.scimType).to.equal("invalidCursor");
    expect(stolen.text).not.to.include(aCreated[2]!.id);
    const aRest = await search(a.token, { cursor: aFirst.body.nextCursor, count: 2 });
    expect(idsOf([aFirst, aRest])).to.deep.equal(aCreated.map((c) => c.id));
  });

  it("returns every user and group that exists throughout a walk exactly once while another client creates and deletes both", async function () {
    this.timeout(120_000);
    const { token } = await createOrgWithToken(base());
    const initial = (await createMixed(token, 50)).map((c) => c.id);
    const deletedDuringWalk = new Set<string>();
    const createdDuringWalk: string[] = [];
    let mutations = 0;
    let turn = 0;
    // The other client: one turn (create a user or a group, delete an original or a fresh one)
    // runs while each next page is read, so every page races a write; one turn per page keeps a
    // fast writer from outrunning the walk (new resources join its end).
    const churnTurn = async () => {
      turn++;
      const fresh = turn % 2 === 0 ? await createUser(token) : await createGroup(token);
      createdDuringWalk.push(fresh.id);
      // Every third turn deletes an original (spread over the whole list), the others a new resource.
      const victim = turn % 3 === 0 ? initial[(turn * 7) % initial.length]! : createdDuringWalk[turn % createdDuringWalk.length]!;
      if (!deletedDuringWalk.has(victim)) {
        deletedDuringWalk.add(victim); // from now on it did not exist throughout the walk
        const path = victim.startsWith("user_") ? `/Users/${victim}` : `/Groups/${victim}`;
        expect((await scim(base(), token, "DELETE", path)).status).to.equal(204);
      }
      mutations++;
    };
    let running: Promise<void> = Promise.resolve();
    let pages: JsonResponse[];
    try {
      pages = await walk(token, { count: 4, excludedAttributes: ["groups", "members"] }, async () => {
        await running;
        running = churnTurn();
      });
    } finally {
      await running.catch(() => undefined); // a failed turn fails the walk at its next page already
    }
    await running;
    const returned = idsOf(pages);
    expect(new Set(returned).size, "no resource twice").to.equal(returned.length);
    const throughout = initial.filter((id) => !deletedDuringWalk.has(id));
    expect(throughout.length).to.be.greaterThan(35);
    expect(throughout.some((id) => id.startsWith("user_")) && throughout.some((id) => id.startsWith("team_"))).to.equal(true);
    expect([...deletedDuringWalk].filter((id) => initial.includes(id)).length, "the walk saw originals deleted").to.be.greaterThan(0);
    expect(throughout.filter((id) => !returned.includes(id)), "resources that existed throughout the walk").to.deep.equal([]);
    const known = new Set([...initial, ...createdDuringWalk]);
    expect(returned.filter((id) => !known.has(id))).to.deep.equal([]);
    expect(mutations).to.be.greaterThanOrEqual(pages.length - 1);
  });
});
