import { expect } from "chai";
import { once } from "node:events";
import type { Server } from "node:http";
import type { AddressInfo } from "node:net";
import { shared } from "../helpers/rootHooks.ts";
import { scim, type JsonResponse } from "../helpers/http.ts";
import { createOrgWithToken, scimUserBody, unique } from "../helpers/factories.ts";
import { buildApp } from "../../server/app.ts";

const base = () => shared.service.url!;
const SEARCH = "urn:ietf:params:scim:api:messages:2.0:SearchRequest";
const PATCH_OP = "urn:ietf:params:scim:api:messages:2.0:PatchOp";

/** Creates `n` users named `<prefix>.<i>…` and returns their ids in creation order. */
async function createUsers(token: string, n: number, prefix = `walk${unique()}`): Promise<string[]> {
  const ids: string[] = [];
  for (let i = 0; i < n; i++) {
    const res = await scim(base(), token, "POST", "/Users", scimUserBody({ userName: `${prefix}.${String(i).padStart(3, "0")}.${unique()}@example.com` }));
    expect(res.status, res.text).to.equal(201);
    ids.push(res.body.id);
  }
  return ids;
}

/** Walks a list with cursors from the empty cursor to the page without nextCursor; returns every page. */
async function walk(url: string, token: string, path: (cursor: string) => string, onPage?: () => Promise<void>): Promise<JsonResponse[]> {
  const pages: JsonResponse[] = [];
  let cursor = "";
  for (;;) {
    const page = await scim(url, token, "GET", path(cursor));
    expect(page.status, page.text).to.equal(200);
    pages.push(page);
    if (pages.length > 500) throw new Error("the walk does not end");
    if (page.body.nextCursor === undefined) return pages;
    cursor = page.body.nextCursor;
    await onPage?.();
  }
}

const idsOf = (pages: JsonResponse[]) => pages.flatMap((p) => (p.body.Resources ?? []).map((r: { id: string }) => r.id));

describe("SCIM cursor pagination (RFC 9865)", () => {
  it("advertises both methods, index as the default, and the cursor timeout in ServiceProviderConfig", async () => {
    const { token } = await createOrgWithToken(base());
    const res = await scim(base(), token, "GET", "/ServiceProviderConfig");
    const { maxResults, cursorTimeoutSeconds } = shared.service.deps.config.scim;
    expect(res.body.pagination).to.deep.equal({
      cursor: true,
      index: true,
      defaultPaginationMethod: "index",
      defaultPageSize: maxResults,
      maxPageSize: maxResults,
      cursorTimeout: cursorTimeoutSeconds,
    });
  });

  it("walks /Users from an empty cursor to the last page: every user once, in creation order, nextCursor on all pages but the last", async () => {
    const { token } = await createOrgWithToken(base());
    const ids = await createUsers(token, 11);
    const pages = await walk(base(), token, (c) => `/Users?cursor=${encodeURIComponent(c)}&count=4`);
    expect(pages.map((p) => p.body.itemsPerPage)).to.deep.equal([4, 4, 3]);
    expect(idsOf(pages)).to.deep.equal(ids);
    for (const page of pages) {
      expect(page.body.totalResults).to.equal(11);
      expect(page.body).not.to.have.property("startIndex");
      expect(page.body.schemas).to.deep.equal(["urn:ietf:params:scim:api:messages:2.0:ListResponse"]);
    }
    expect(pages.map((p) => typeof p.body.previousCursor)).to.deep.equal(["undefined", "string", "string"]);
    expect(pages.slice(0, -1).every((p) => /^[A-Za-z0-9\-._~]+$/.test(p.body.nextCursor))).to.equal(true);
    // `?cursor` without a value (the RFC's own example) starts the walk too.
    const bare = await scim(base(), token, "GET", "/Users?cursor&count=4");
    expect(idsOf([bare])).to.deep.equal(ids.slice(0, 4));
  });

  it("walks back with previousCursor: the same pages in reverse, none before the first page", async () => {
    const { token } = await createOrgWithToken(base());
    const ids = await createUsers(token, 11);
    const forward = await walk(base(), token, (c) => `/Users?cursor=${encodeURIComponent(c)}&count=4`);
    const back: JsonResponse[] = [forward.at(-1)!];
    while (back.at(-1)!.body.previousCursor !== undefined) {
      const page = await scim(base(), token, "GET", `/Users?cursor=${back.at(-1)!.body.previousCursor}&count=4`);
      expect(page.status, page.text).to.equal(200);
      back.push(page);
    }
    expect(back.map((p) => idsOf([p]))).to.deep.equal(forward.map((p) => idsOf([p])).reverse());
    expect(back.at(-1)!.body).not.to.have.property("previousCursor");
    // From a page reached backward, nextCursor goes forward again.
    const again = await scim(base(), token, "GET", `/Users?cursor=${back.at(-1)!.body.nextCursor}&count=4`);
    expect(idsOf([again])).to.deep.equal(ids.slice(4, 8));
    expect(again.body.totalResults).to.equal(11);
    // Newest first, filtered, through /.search: previousCursor of the second page gives the first.
    const prefix = `back${unique()}`;
    const matching = await createUsers(token, 5, prefix);
    const body = { schemas: [SEARCH], filter: `userName sw "${prefix}."`, sortOrder: "descending", count: 2 };
    const first = await scim(base(), token, "POST", "/Users/.search", { ...body, cursor: "" });
    const second = await scim(base(), token, "POST", "/Users/.search", { ...body, cursor: first.body.nextCursor });
    const previous = await scim(base(), token, "POST", "/Users/.search", { ...body, cursor: second.body.previousCursor });
    expect(idsOf([first, second])).to.deep.equal([...matching].reverse().slice(0, 4));
    expect(idsOf([previous])).to.deep.equal(idsOf([first]));
    expect(previous.body).not.to.have.property("previousCursor");
  });

  it("walks newest first with sortOrder=descending, and combines with a filter", async () => {
    const { token } = await createOrgWithToken(base());
    const prefix = `flt${unique()}`;
    const matching = await createUsers(token, 7, prefix);
    await createUsers(token, 5, `other${unique()}`);
    const filter = encodeURIComponent(`userName sw "${prefix}."`);
    const pages = await walk(base(), token, (c) => `/Users?filter=${filter}&cursor=${encodeURIComponent(c)}&count=3&sortOrder=descending`);
    expect(idsOf(pages)).to.deep.equal([...matching].reverse());
    expect(pages.every((p) => p.body.totalResults === 7)).to.equal(true);
  });

  it("pages with POST /Users/.search and /Groups/.search, the cursor in the body", async () => {
    const { token } = await createOrgWithToken(base());
    const ids = await createUsers(token, 5);
    const seen: string[] = [];
    let cursor: string | undefined = "";
    while (cursor !== undefined) {
      const res = await scim(base(), token, "POST", "/Users/.search", { schemas: [SEARCH], cursor, count: 2, attributes: ["userName"] });
      expect(res.status, res.text).to.equal(200);
      seen.push(...res.body.Resources.map((r: { id: string }) => r.id));
      cursor = res.body.nextCursor;
    }
    expect(seen).to.deep.equal(ids);

    const groups: string[] = [];
    for (let i = 0; i < 3; i++) groups.push((await scim(base(), token, "POST", "/Groups", { displayName: `G${i} ${unique()}` })).body.id);
    const first = await scim(base(), token, "POST", "/Groups/.search", { schemas: [SEARCH], cursor: "", count: 2 });
    const second = await scim(base(), token, "POST", "/Groups/.search", { schemas: [SEARCH], cursor: first.body.nextCursor, count: 2 });
    expect(idsOf([first, second])).to.deep.equal(groups);
    expect(second.body).not.to.have.property("nextCursor");
    const viaGet = await walk(base(), token, (c) => `/Groups?cursor=${encodeURIComponent(c)}&count=1`);
    expect(idsOf(viaGet)).to.deep.equal(groups);
  });

  it("answers count=0 with totalResults only, and a nextCursor that still starts where it stood", async () => {
    const { token } = await createOrgWithToken(base());
    const ids = await createUsers(token, 3);
    const zero = await scim(base(), token, "GET", "/Users?cursor=&count=0");
    expect(zero.body.totalResults).to.equal(3);
    expect(zero.body).not.to.have.property("Resources");
    const resumed = await scim(base(), token, "GET", `/Users?cursor=${zero.body.nextCursor}&count=10`);
    expect(idsOf([resumed])).to.deep.equal(ids);
    expect(resumed.body).not.to.have.property("nextCursor");
    const empty = await createOrgWithToken(base());
    const none = await scim(base(), empty.token, "GET", "/Users?cursor=&count=5");
    expect(none.body).to.include({ totalResults: 0, itemsPerPage: 0 });
    expect(none.body).not.to.have.property("nextCursor");
  });

  it("refuses cursor with startIndex, and cursor with sortBy, as 400 invalidValue", async () => {
    const { token } = await createOrgWithToken(base());
    const both = await scim(base(), token, "GET", "/Users?cursor=&startIndex=1");
    expect(both.status).to.equal(400);
    expect(both.body.scimType).to.equal("invalidValue");
    expect(both.body.detail).to.include("not both");
    const sorted = await scim(base(), token, "GET", "/Users?cursor=&sortBy=userName");
    expect(sorted.status).to.equal(400);
    expect(sorted.body.scimType).to.equal("invalidValue");
    expect(sorted.body.detail).to.include("sortBy");
  });

  it("refuses a tampered, forged or foreign cursor as 400 invalidCursor with one message", async () => {
    const a = await createOrgWithToken(base());
    const b = await createOrgWithToken(base());
    const prefix = `tmp${unique()}`;
    await createUsers(a.token, 3, prefix);
    await createUsers(b.token, 3);
    const first = await scim(base(), a.token, "GET", "/Users?cursor=&count=1");
    const cursor: string = first.body.nextCursor;
    expect((await scim(base(), a.token, "GET", `/Users?cursor=${cursor}&count=1`)).status).to.equal(200);

    const [version, payload, mac] = cursor.split(".") as [string, string, string];
    const decoded = JSON.parse(Buffer.from(payload, "base64url").toString("utf8"));
    const edited = Buffer.from(JSON.stringify({ ...decoded, x: decoded.x + 10_000_000 })).toString("base64url");
    const flipped = mac.slice(0, -2) + (mac.endsWith("AA") ? "BB" : "AA");
    const refused: Array<[string, string, string]> = [
      [a.token, `/Users?cursor=${version}.${edited}.${mac}`, "edited payload"],
      [a.token, `/Users?cursor=${version}.${payload}.${flipped}`, "changed signature"],
      [a.token, `/Users?cursor=not-a-cursor`, "garbage"],
      [a.token, `/Users?cursor=${encodeURIComponent("v1.{}.x y")}`, "reserved characters"],
      [a.token, `/Users?cursor=${"a".repeat(600)}`, "too long"],
      [b.token, `/Users?cursor=${cursor}`, "another organization's cursor"],
      [b.token, `/Groups?cursor=${cursor}`, "another organization's cursor on another endpoint"],
      [a.token, `/Users?cursor=${cursor}&filter=${encodeURIComponent(`userName sw "${prefix}"`)}`, "another filter"],
      [a.token, `/Users?cursor=${cursor}&sortOrder=descending`, "another order"],
      [a.token, `/Groups?cursor=${cursor}`, "another resource type"],
    ];
    const details = new Set<string>();
    for (const [token, path, why] of refused) {
      const res = await scim(base(), token, "GET", path);
      expect(res.status, why).to.equal(400);
      expect(res.body.scimType, why).to.equal("invalidCursor");
      expect(res.body.schemas, why).to.deep.equal(["urn:ietf:params:scim:api:messages:2.0:Error"]);
      details.add(res.body.detail);
    }
    expect(details.size).to.equal(1);
  });

  it("never lets another organization continue a walk: org B gets invalidCursor for org A's cursor, A's own walk goes on", async () => {
    const a = await createOrgWithToken(base());
    const b = await createOrgWithToken(base());
    const aIds = await createUsers(a.token, 4);
    const bIds = await createUsers(b.token, 4);
    const aFirst = await scim(base(), a.token, "GET", "/Users?cursor=&count=2");
    const stolen = await scim(base(), b.token, "GET", `/Users?cursor=${aFirst.body.nextCursor}&count=2`);
    expect(stolen.status).to.equal(400);
    expect(stolen.body.scimType).to.equal("invalidCursor");
    expect(stolen.text).not.to.include(aIds[2]!);
    const viaSearch = await scim(base(), b.token, "POST", "/Users/.search", { schemas: [SEARCH], cursor: aFirst.body.nextCursor, count: 2 });
    expect(viaSearch.body.scimType).to.equal("invalidCursor");
    const aRest = await scim(base(), a.token, "GET", `/Users?cursor=${aFirst.body.nextCursor}&count=2`);
    expect(idsOf([aFirst, aRest])).to.deep.equal(aIds);
    const bWalk = await walk(base(), b.token, (c) => `/Users?cursor=${encodeURIComponent(c)}&count=3`);
    expect(idsOf(bWalk)).to.deep.equal(bIds);
  });

  describe("with a clock the test moves", () => {
    let server: Server;
    let url: string;
    let now = Date.now();
    before(async () => {
      server = buildApp({ ...shared.service.deps, clock: { now: () => new Date(now) } }).listen(0, "127.0.0.1");
      await once(server, "listening");
      url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    });
    after(() => server?.close());

    it("refuses a genuine cursor older than cursorTimeout as 400 expiredCursor, and accepts it just before", async () => {
      const { token } = await createOrgWithToken(base());
      await createUsers(token, 3);
      const timeout = shared.service.deps.config.scim.cursorTimeoutSeconds;
      const first = await scim(url, token, "GET", "/Users?cursor=&count=1");
      const cursor = first.body.nextCursor;
      now += (timeout - 1) * 1000;
      expect((await scim(url, token, "GET", `/Users?cursor=${cursor}&count=1`)).status).to.equal(200);
      now += 2000;
      const expired = await scim(url, token, "GET", `/Users?cursor=${cursor}&count=1`);
      expect(expired.status).to.equal(400);
      expect(expired.body.scimType).to.equal("expiredCursor");
      expect(expired.body.detail).to.include(String(timeout));
    });
  });

  /**
   * Runs `walkUsers` while another client creates, renames and deletes users of the organization
   * (each page waits for at least one change), then checks the walk: no user twice, every user
   * that existed throughout the walk once, nothing unknown.
   */
  async function walkUnderChurn(walkUsers: (token: string, betweenPages: () => Promise<void>) => Promise<JsonResponse[]>) {
    const { token } = await createOrgWithToken(base());
    const initial = await createUsers(token, 60);
    const deletedDuringWalk = new Set<string>();
    const createdDuringWalk = new Set<string>();
    let mutations = 0;
    let walking = true;
    const churn = (async () => {
      let turn = 0;
      while (walking) {
        turn++;
        const created = await scim(base(), token, "POST", "/Users", scimUserBody());
        expect(created.status).to.equal(201);
        createdDuringWalk.add(created.body.id);
        // Updates move nothing: the walk's key (creation time, id) is immutable.
        const renamed = initial[(turn * 11) % initial.length]!;
        if (!deletedDuringWalk.has(renamed)) {
          const patch = { schemas: [PATCH_OP], Operations: [{ op: "replace", path: "userName", value: `renamed.${turn}.${unique()}@example.com` }] };
          expect((await scim(base(), token, "PATCH", `/Users/${renamed}`, patch)).status).to.equal(200);
        }
        // Every third turn deletes an original user (spread over the whole list), the others a new one.
        const victim = turn % 3 === 0 ? initial[(turn * 7) % initial.length]! : [...createdDuringWalk][turn % createdDuringWalk.size]!;
        if (!deletedDuringWalk.has(victim)) {
          deletedDuringWalk.add(victim); // marked before the request: from now on it did not exist throughout
          const gone = await scim(base(), token, "DELETE", `/Users/${victim}`);
          expect(gone.status).to.equal(204);
        }
        mutations++;
      }
    })();
    const waitForMutation = async () => {
      const seen = mutations;
      while (mutations === seen) await new Promise((resolve) => setTimeout(resolve, 2));
    };
    let pages: JsonResponse[];
    try {
      pages = await walkUsers(token, waitForMutation);
    } finally {
      walking = false;
      await churn;
    }
    const returned = idsOf(pages);
    expect(new Set(returned).size, "no user twice").to.equal(returned.length);
    const throughout = initial.filter((id) => !deletedDuringWalk.has(id));
    expect(throughout.length).to.be.greaterThan(40);
    expect([...deletedDuringWalk].filter((id) => initial.includes(id)).length, "the walk saw originals deleted").to.be.greaterThan(0);
    const missing = throughout.filter((id) => !returned.includes(id));
    expect(missing, "users that existed throughout the walk").to.deep.equal([]);
    const known = new Set([...initial, ...createdDuringWalk]);
    expect(returned.filter((id) => !known.has(id))).to.deep.equal([]);
    expect(mutations).to.be.greaterThanOrEqual(pages.length - 1);
  }

  it("returns every user that exists throughout a walk exactly once while another client creates, renames and deletes users", async function () {
    this.timeout(120_000);
    await walkUnderChurn((token, betweenPages) =>
      walk(base(), token, (c) => `/Users?cursor=${encodeURIComponent(c)}&count=5&excludedAttributes=groups`, betweenPages),
    );
  });

  it("does the same walking back with previousCursor from the last page", async function () {
    this.timeout(120_000);
    await walkUnderChurn(async (token, betweenPages) => {
      // Forward to the last page (the other client is already at work), then back to the first page.
      let page = await scim(base(), token, "GET", "/Users?cursor=&count=5&excludedAttributes=groups");
      while (page.body.nextCursor !== undefined) page = await scim(base(), token, "GET", `/Users?cursor=${page.body.nextCursor}&count=5&excludedAttributes=groups`);
      const pages = [page];
      while (page.body.previousCursor !== undefined) {
        await betweenPages();
        page = await scim(base(), token, "GET", `/Users?cursor=${page.body.previousCursor}&count=5&excludedAttributes=groups`);
        expect(page.status, page.text).to.equal(200);
        pages.push(page);
      }
      return pages;
    });
  });
});
