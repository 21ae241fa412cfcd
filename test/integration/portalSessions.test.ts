import { expect } from "chai";
import { QueryTypes } from "sequelize";
import { shared } from "../helpers/rootHooks.ts";
import { createOrgWithToken } from "../helpers/factories.ts";
import { request } from "../helpers/http.ts";
import { openLink, portalGet, portalLink, portalPost, startPortal } from "../helpers/portal.ts";
import { startTestService } from "../helpers/testService.ts";
import type { Service } from "../../server/main.ts";
import { PORTAL_CSP } from "../../server/portal/securityHeaders.ts";
import { sessionCookie } from "../../server/portal/cookies.ts";

describe("admin portal sessions (HTTP)", () => {
  const base = () => shared.service.url!;

  it("creates a one-time portal link for an organization with the admin key", async () => {
    const org = await createOrgWithToken(base());
    const before = Date.now();
    const created = await request(base(), "POST", `/v1/organizations/${org.orgId}/portal_sessions`, {
      token: "test-admin-key-0123456789abcdef", body: { expires_in_s: 120 }, headers: { "Content-Type": "application/json" },
    });
    expect(created.status).to.equal(201);
    expect(created.body.url).to.match(/\/portal\/start\?code=pc_[A-Za-z0-9_-]{43}$/);
    expect(created.body.expires_at).to.be.within(before + 119_000, Date.now() + 121_000);
  });

  it("refuses to create a portal link without the admin key", async () => {
    const org = await createOrgWithToken(base());
    const refused = await request(base(), "POST", `/v1/organizations/${org.orgId}/portal_sessions`, { body: {}, headers: { "Content-Type": "application/json" } });
    expect(refused.status).to.equal(401);
  });

  it("rejects an expires_in_s outside 30 seconds to one day, naming the field", async () => {
    const org = await createOrgWithToken(base());
    const refused = await request(base(), "POST", `/v1/organizations/${org.orgId}/portal_sessions`, {
      token: "test-admin-key-0123456789abcdef", body: { expires_in_s: 5 }, headers: { "Content-Type": "application/json" },
    });
    expect(refused.status).to.equal(400);
    expect(refused.body.errors[0].message).to.match(/^expires_in_s:/);
  });

  it("exchanges the code for an HttpOnly, SameSite=Strict cookie scoped to /portal and leaves the code's URL", async () => {
    const org = await createOrgWithToken(base());
    const { path } = await portalLink(base(), org.orgId);
    const opened = await openLink(base(), path);
    expect(opened.status).to.equal(200);
    const cookie = opened.headers.get("set-cookie")!;
    expect(cookie).to.match(/^rollcall_portal=[A-Za-z0-9_-]{43}; /);
    expect(cookie).to.include("HttpOnly").and.include("SameSite=Strict").and.include("Path=/portal");
    expect(cookie).not.to.include("Secure"); // test mode is plain HTTP; production adds Secure (next test)
    expect(opened.headers.get("referrer-policy")).to.equal("same-origin");
    expect(await opened.text()).to.include('<meta http-equiv="refresh" content="0;url=/portal/setup">');
  });

  it("marks the session cookie Secure when asked to (production)", () => {
    expect(sessionCookie("x", { secure: true, expires: new Date(0) })).to.match(/; Secure$/);
  });

  it("accepts a link only once", async () => {
    const org = await createOrgWithToken(base());
    const { path } = await portalLink(base(), org.orgId);
    expect((await openLink(base(), path)).status).to.equal(200);
    const again = await openLink(base(), path);
    expect(again.status).to.equal(401);
    expect(again.headers.get("set-cookie")).to.equal(null);
  });

  it("refuses a tampered link without starting a session", async () => {
    const org = await createOrgWithToken(base());
    const { path } = await portalLink(base(), org.orgId);
    const last = path.at(-1) === "A" ? "B" : "A";
    for (const tampered of [`${path.slice(0, -1)}${last}`, path.replace("code=pc_", "code=px_"), `${path}x`, "/portal/start", "/portal/start?code="]) {
      const opened = await openLink(base(), tampered);
      expect(opened.status, tampered).to.equal(401);
      expect(opened.headers.get("set-cookie"), tampered).to.equal(null);
      expect(await opened.text()).to.include("This portal link does not work");
    }
    expect((await openLink(base(), path)).status).to.equal(200); // the real link still works
  });

  it("answers 401 on portal pages without a session cookie, or with a forged one", async () => {
    const none = await fetch(`${base()}/portal/setup`);
    expect(none.status).to.equal(401);
    const forged = await fetch(`${base()}/portal/setup`, { headers: { Cookie: `rollcall_portal=${"a".repeat(43)}` } });
    expect(forged.status).to.equal(401);
    expect(await forged.text()).to.include("Open a new portal link");
  });

  it("sends the strict Content-Security-Policy on pages, assets, errors and the link exchange", async () => {
    const org = await createOrgWithToken(base());
    const client = await startPortal(base(), org.orgId);
    const responses = [
      await portalGet(client, "/portal/setup"),
      await portalGet(client, "/portal/assets/portal.js"),
      await portalGet(client, "/portal/no-such-page"),
      await portalGet({ ...client, cookie: "" }, "/portal/setup"),
      { headers: (await openLink(base(), "/portal/start?code=nope")).headers },
    ];
    for (const response of responses) {
      expect(response.headers.get("content-security-policy")).to.equal(PORTAL_CSP);
      expect(response.headers.get("x-content-type-options")).to.equal("nosniff");
      expect(response.headers.get("x-frame-options")).to.equal("DENY");
    }
    expect(PORTAL_CSP).to.include("script-src 'self'").and.include("style-src 'self'").and.not.include("unsafe-inline");
  });

  it("serves pages whose every script is a same-origin file and that carry no inline script or style", async () => {
    const org = await createOrgWithToken(base());
    const client = await startPortal(base(), org.orgId);
    for (const path of ["/portal/setup", "/portal/health", "/portal/log", "/portal/users", "/portal/teams", "/portal/mapping", "/portal/webhooks", "/portal/reconcile", "/portal/directory", "/portal/guides/okta"]) {
      const page = await portalGet(client, path);
      expect(page.status, path).to.equal(200);
      const scripts = [...page.text.matchAll(/<script\b[^>]*>/g)].map((m) => m[0]);
      expect(scripts, path).to.deep.equal(['<script src="/portal/assets/portal.js" defer>']);
      expect(page.text, path).not.to.match(/<style\b|\sstyle="|\son[a-z]+="/i);
    }
  });

  it("refuses a form post without the CSRF token, with a wrong one, or from another origin", async () => {
    const org = await createOrgWithToken(base());
    const client = await startPortal(base(), org.orgId);
    const missing = await fetch(`${base()}/portal/tokens`, {
      method: "POST", headers: { Cookie: client.cookie, "Content-Type": "application/x-www-form-urlencoded" }, body: "name=evil",
    });
    expect(missing.status).to.equal(403);
    expect((await portalPost(client, "/portal/tokens", { name: "evil", _csrf: "x".repeat(43) })).status).to.equal(403);
    expect((await portalPost(client, "/portal/tokens", { name: "evil" }, { Origin: "https://attacker.example" })).status).to.equal(403);
    expect((await portalPost(client, "/portal/tokens", { name: "evil" }, { "Sec-Fetch-Site": "cross-site" })).status).to.equal(403);
    const tokens = await shared.service.deps.db.sequelize.query<{ n: number }>(
      `SELECT count(*)::int AS n FROM scim_tokens WHERE organization_id = $1 AND name = 'evil'`, { bind: [org.orgId], type: QueryTypes.SELECT },
    );
    expect(tokens[0]!.n).to.equal(0);
  });

  it("refuses a JSON post of the preview script without the CSRF header", async () => {
    const org = await createOrgWithToken(base());
    const client = await startPortal(base(), org.orgId);
    const refused = await fetch(`${base()}/portal/mapping/preview`, {
      method: "POST", headers: { Cookie: client.cookie, "Content-Type": "application/json", Accept: "application/json" }, body: JSON.stringify({ mapping: "{}", user_id: "" }),
    });
    expect(refused.status).to.equal(403);
    const accepted = await fetch(`${base()}/portal/mapping/preview`, {
      method: "POST", headers: { Cookie: client.cookie, "Content-Type": "application/json", Accept: "application/json", "X-CSRF-Token": client.csrf }, body: JSON.stringify({ mapping: "{}", user_id: "" }),
    });
    expect(accepted.status).to.equal(200);
    expect((await accepted.json()).valid).to.equal(true);
  });

  it("issues a token with a valid form post and audits it with the portal session as actor", async () => {
    const org = await createOrgWithToken(base());
    const client = await startPortal(base(), org.orgId);
    const issued = await portalPost(client, "/portal/tokens", { name: "Okta production" });
    expect(issued.status).to.equal(200);
    const token = /id="issued-token"[^>]*value="(scim_[^"]+)"/.exec(issued.text)?.[1];
    expect(token).to.be.a("string");
    const audit = await shared.service.deps.db.sequelize.query<{ actor_type: string; actor_id: string; action: string }>(
      `SELECT actor_type, actor_id, action FROM audit_log WHERE organization_id = $1 AND actor_type = 'portal_session' ORDER BY created_at`,
      { bind: [org.orgId], type: QueryTypes.SELECT },
    );
    expect(audit.map((a) => a.action)).to.include.members(["portal_session.started", "scim_token.issued"]);
    expect(audit.every((a) => a.actor_id.startsWith("ps_"))).to.equal(true);
  });

  it("ends the session on sign-out; the cookie no longer works", async () => {
    const org = await createOrgWithToken(base());
    const client = await startPortal(base(), org.orgId);
    const out = await portalPost(client, "/portal/sign-out");
    expect(out.status).to.equal(200);
    expect(out.headers.get("set-cookie")).to.include("Expires=Thu, 01 Jan 1970");
    expect((await portalGet(client, "/portal/setup")).status).to.equal(401);
  });

  describe("expiry (injected clock)", () => {
    let service: Service;
    let now = Date.now();
    before(async function () {
      this.timeout(60_000);
      service = await startTestService(shared.databaseUrl, { clock: { now: () => new Date(now) } });
    });
    after(async () => service?.stop());

    it("refuses a link opened after it expired", async () => {
      const org = await createOrgWithToken(service.url!);
      const { path } = await portalLink(service.url!, org.orgId, { expires_in_s: 60 });
      now += 61_000;
      expect((await openLink(service.url!, path)).status).to.equal(401);
    });

    it("ends a session four hours after the link was opened", async () => {
      const org = await createOrgWithToken(service.url!);
      const client = await startPortal(service.url!, org.orgId);
      now += 4 * 3_600_000 - 1000;
      expect((await portalGet(client, "/portal/setup")).status).to.equal(200);
      now += 2000;
      expect((await portalGet(client, "/portal/setup")).status).to.equal(401);
    });
  });
});
