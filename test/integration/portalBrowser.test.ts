import { createServer, type Server } from "node:http";
import { expect } from "chai";
import type { BrowserContext, Page } from "playwright-core";
import { chromiumInstalled, CHROMIUM_PATH, launchBrowser, screenshot, seriousAxeViolations } from "../helpers/browser.ts";
import { admin, scim } from "../helpers/http.ts";
import { scimUserBody, unique } from "../helpers/factories.ts";
import { freePort } from "../helpers/freePort.ts";
import { portalLink } from "../helpers/portal.ts";
import { createManualClock, startIsolatedService, startWebhookReceiver, type WebhookReceiver } from "../helpers/webhookReceiver.ts";
import type { Service } from "../../server/main.ts";
import { createMetrics } from "../../server/metrics.ts";
import { createDispatcher } from "../../server/webhooks/dispatcher.ts";
import { MAX_ATTEMPTS, RETRY_DELAYS_MS } from "../../server/webhooks/backoff.ts";
import { QueryTypes } from "sequelize";
import { startFakeOkta, type FakeOkta } from "../fakes/okta.ts";

/**
 * The admin portal in a real headless Chromium (Debian's package, driven by playwright-core): the
 * flows a customer's IT admin goes through, found by role and accessible name, checked with axe-core.
 */
describe("admin portal in a browser", function () {
  this.timeout(60_000);
  let service: Service;
  let databaseUrl: string | undefined;
  let okta: FakeOkta | undefined;
  let stopService: () => Promise<void>;
  let context: BrowserContext;
  let page: Page;
  let receiver: WebhookReceiver;
  let orgId: string;
  let otherOrgId: string;
  let scimToken = "";
  let endpointUrl = "";
  const base = () => service.url!;
  const seenViolations: string[] = [];

  before(async function () {
    if (!chromiumInstalled()) {
      console.log(`    (skipped: no Chromium at ${CHROMIUM_PATH}; install Debian's "chromium" package, as .ci/run does, to run the browser suite)`);
      this.skip();
    }
    this.timeout(120_000);
    const port = await freePort();
    ({ service, databaseUrl, stop: stopService } = await startIsolatedService({ env: { PORT: String(port), ROLLCALL_PUBLIC_URL: `http://127.0.0.1:${port}` } }));
    receiver = await startWebhookReceiver();
    orgId = (await admin(base(), "POST", "/v1/organizations", { name: `Acme ${unique()}` })).body.id;
    otherOrgId = (await admin(base(), "POST", "/v1/organizations", { name: `Globex ${unique()}` })).body.id;
    context = await launchBrowser();
    await context.grantPermissions(["clipboard-read", "clipboard-write"], { origin: base() });
    page = await context.newPage();
  });

  after(async function () {
    this.timeout(60_000);
    await context?.close();
    await receiver?.close();
    await okta?.close();
    await stopService?.();
  });

  /** Checks the current page with axe-core and remembers any serious or critical violation. */
  async function checkAccessibility(name: string): Promise<void> {
    const violations = await seriousAxeViolations(page);
    seenViolations.push(...violations.map((v) => `${name}: ${v.id} (${v.impact}) ${v.help} ${JSON.stringify(v.nodes.map((n) => n.target))}`));
    expect(violations.map((v) => `${v.id}: ${v.help}`), name).to.deep.equal([]);
  }

  it("opens a portal link, sets a strict session cookie and lands on a clean URL", async () => {
    const { url } = await portalLink(base(), orgId);
    await page.goto(url);
    await page.waitForURL(`${base()}/portal/setup`);
    expect(page.url()).not.to.include("code=");
    const [cookie] = await context.cookies(`${base()}/portal/setup`);
    expect(cookie).to.include({ name: "rollcall_portal", httpOnly: true, sameSite: "Strict", secure: false, path: "/portal" });
    expect(await page.getByRole("heading", { level: 1, name: "Setup" }).isVisible()).to.equal(true);
  });

  it("issues a token in the portal, shows it once with Copy, and the IdP provisions a user with it over SCIM", async () => {
    await page.getByLabel("Token label").fill("Okta production");
    await page.getByRole("button", { name: "Issue token" }).click();
    scimToken = await page.getByLabel("New SCIM token").inputValue();
    expect(scimToken).to.match(/^scim_/);
    await page.locator('[data-copy-target="issued-token"]').click();
    await page.getByText("Copied to the clipboard.").first().waitFor();
    expect(await page.evaluate(() => navigator.clipboard.readText())).to.equal(scimToken);
    endpointUrl = await page.getByLabel("SCIM base URL").inputValue();
    await screenshot(page, "setup");
    await checkAccessibility("setup");
    const created = await fetch(`${endpointUrl}Users`, {
      method: "POST",
      headers: { Authorization: `Bearer ${scimToken}`, "Content-Type": "application/scim+json" },
      body: JSON.stringify(scimUserBody({ userName: "ada@acme.example", name: { givenName: "Ada", familyName: "Lovelace" }, emails: [{ value: "ada@acme.example", primary: true }] })),
    });
    expect(created.status).to.equal(201);
    // last_used_at is written off the request path; the Setup page shows it once it lands.
    let lastUsed = "never";
    for (let i = 0; i < 20 && lastUsed.includes("never"); i++) {
      await page.goto(`${base()}/portal/setup`);
      lastUsed = (await page.getByRole("row", { name: /Okta production/ }).getByRole("cell").nth(2).textContent()) ?? "";
      if (lastUsed.includes("never")) await page.waitForTimeout(250);
    }
    expect(lastUsed).not.to.include("never");
  });

  it("shows new requests in the live log, a failing one with its explanation", async () => {
    await page.getByRole("link", { name: "Request log" }).click();
    await page.getByRole("heading", { level: 1, name: "Request log" }).waitFor();
    // Sent while the page is open: the rows arrive without a reload.
    const duplicate = await scim(base(), scimToken, "POST", "/Users", scimUserBody({ userName: "ada@acme.example", emails: [{ value: "ada@acme.example", primary: true }] }));
    expect(duplicate.status).to.equal(409);
    await service.deps.requestLog.flush();
    const failed = page.getByRole("row", { name: /409/ });
    await failed.waitFor({ timeout: 10_000 });
    expect(await failed.textContent()).to.include("A user with this userName already exists").and.include("just-in-time sign-in");
    await page.getByRole("row", { name: /POST \/scim\/v2\/Users 201/ }).first().waitFor();
    await page.getByLabel("Status").selectOption("errors");
    await page.getByRole("button", { name: "Apply filters" }).click();
    await page.waitForURL(/status=errors/);
    expect(await page.getByRole("row", { name: /201/ }).count()).to.equal(0);
    expect(await page.getByRole("row", { name: /409/ }).count()).to.equal(1);
    await screenshot(page, "request-log");
    await checkAccessibility("request log");
  });

  it("validates a mapping inline, previews it live on a provisioned user, saves it and shows the version diff", async () => {
    await page.getByRole("link", { name: "Attribute mapping" }).click();
    const editor = page.getByLabel("Mapping", { exact: true });
    await editor.fill('{"name.givenName": "nowhere"}');
    await page.locator("#mapping-errors li").first().waitFor();
    expect(await page.locator("#mapping-errors").textContent()).to.include("name.givenName");
    expect(await editor.getAttribute("aria-invalid")).to.equal("true");
    await editor.fill('{"name.givenName": "{{ value | upcase }}.first_name", "name.familyName": "public_metadata.family"}');
    await page.getByRole("row", { name: /first_name Ada ADA changes/ }).waitFor();
    expect(await editor.getAttribute("aria-invalid")).to.equal(null);
    await screenshot(page, "mapping");
    await checkAccessibility("mapping");
    await page.getByRole("button", { name: "Save mapping" }).click();
    await page.getByText("The mapping was saved as a new version.").waitFor();
    await page.getByRole("link", { name: "Compare version 1 with the defaults" }).click();
    await page.getByRole("row", { name: /name\.givenName added/ }).waitFor();
    await checkAccessibility("mapping diff");
  });

  it("adds a webhook endpoint with its secret shown once, and retries a failed delivery", async () => {
    await page.getByRole("link", { name: "Webhooks" }).click();
    await page.getByLabel("Endpoint URL").fill(receiver.url);
    await page.getByRole("button", { name: "Add endpoint" }).click();
    expect(await page.getByLabel("Signing secret").inputValue()).to.match(/^whsec_/);
    await page.goto(`${base()}/portal/webhooks`);
    expect(await page.getByLabel("Signing secret").count()).to.equal(0);
    // An event for the endpoint, which answers 500 to every automatic attempt.
    expect((await scim(base(), scimToken, "POST", "/Users", scimUserBody({ userName: "grace@acme.example", emails: [{ value: "grace@acme.example", primary: true }] }))).status).to.equal(201);
    receiver.script(...Array.from({ length: MAX_ATTEMPTS }, () => 500));
    const clock = createManualClock();
    const dispatcher = createDispatcher(
      // Each delivery's own retry schedule, so it ends as failed: the endpoint's circuit breaker would park it first.
      { sequelize: service.deps.db.sequelize, logger: service.deps.logger, metrics: createMetrics({ defaultMetrics: false }), clock, config: { webhooks: { ...service.deps.config.webhooks, circuitFailureThreshold: 100 } } },
      { random: () => 0 },
    );
    for (let attempt = 0; attempt < MAX_ATTEMPTS; attempt++) {
      while ((await dispatcher.runOnce()) > 0);
      clock.advance(RETRY_DELAYS_MS[attempt] ?? 0);
    }
    await page.reload();
    const row = page.getByRole("row", { name: /scimUser\.provisioned/ }).filter({ hasText: "failed" });
    await row.first().waitFor();
    await screenshot(page, "webhooks");
    await checkAccessibility("webhooks");
    await row.first().getByRole("button", { name: "Retry" }).click();
    await page.getByText("The delivery is due again").waitFor();
    while ((await dispatcher.runOnce()) > 0);
    await page.reload();
    await page.getByRole("row", { name: /scimUser\.provisioned/ }).filter({ hasText: "succeeded" }).first().waitFor();
    await dispatcher.stop();
  });

  it("runs a reconciliation, and repairs a finding after the blast-radius confirmation", async () => {
    await page.getByRole("link", { name: "Reconciliation" }).click();
    await page.getByRole("button", { name: "Run reconciliation" }).click();
    await page.getByText("The reconciliation run finished.").waitFor();
    const drift = page.getByRole("region", { name: /Mapping drift/ });
    await drift.waitFor();
    await screenshot(page, "reconcile-findings");
    await checkAccessibility("reconcile findings");
    await drift.getByRole("button", { name: "Repair" }).click();
    await page.getByRole("heading", { name: /Confirm the repair of mapping drift/ }).waitFor();
    expect(await page.getByRole("main").textContent()).to.match(/\d+ user\(s\), [\d.]+% of the organization's \d+ active user\(s\)/);
    await screenshot(page, "repair-confirm");
    await checkAccessibility("repair confirmation");
    await page.getByRole("button", { name: "Confirm repair" }).click();
    await page.getByText("The repair run finished.").waitFor();
    expect(await page.getByRole("main").textContent()).to.include("rewrite_mapped_fields: repaired");
    const users = await admin(base(), "GET", `/v1/organizations/${orgId}/users`);
    const ada = users.body.data.find((u: { user_name: string }) => u.user_name === "ada@acme.example");
    expect(ada.first_name).to.equal("ADA");
  });

  it("sets up an Okta directory, tests it, finds a user suspended in Okta and repairs it past the blast-radius confirmation", async function () {
    // Directory repairs need a connection besides the run's lock: PostgreSQL, not the embedded database.
    if (!databaseUrl) this.skip();
    const API_TOKEN = "00-browser-okta-token";
    okta = await startFakeOkta({ appId: "0oa_browser", apiToken: API_TOKEN });
    expect((await scim(base(), scimToken, "POST", "/Users", scimUserBody({ userName: "sam@acme.example", emails: [{ value: "sam@acme.example", primary: true }] }))).status).to.equal(201);
    // The Okta app holds the users Rollcall holds (Okta's user id is what it sends as externalId); Sam is suspended in Okta only.
    const users = await service.deps.db.sequelize.query<{ user_name: string; external_id: string }>(
      `SELECT user_name, external_id FROM users WHERE organization_id = $1 AND active AND deleted_at IS NULL ORDER BY user_name`, { bind: [orgId], type: QueryTypes.SELECT },
    );
    for (const u of users) {
      okta.state.users.set(u.external_id, {
        id: u.external_id, login: u.user_name, email: u.user_name, firstName: "Given", lastName: "Family",
        status: u.user_name === "sam@acme.example" ? "SUSPENDED" : "ACTIVE", lastUpdated: "2026-12-01T00:00:00.000Z",
      });
      okta.state.appUsers.set(u.external_id, "USER");
    }
    await page.getByRole("navigation", { name: "Portal sections" }).getByRole("link", { name: "Directory" }).click();
    await page.getByRole("heading", { level: 1, name: "Directory connection" }).waitFor();
    expect(await page.getByRole("main").textContent()).to.include("No directory is configured").and.include("Google Workspace").and.include("OneLogin");
    await page.getByLabel("Provider").selectOption("okta");
    await page.getByLabel("Okta base URL").fill(okta.url);
    await page.getByLabel("Okta app ID").fill("0oa_browser");
    await page.getByLabel("Okta API token").fill(API_TOKEN);
    expect(await page.getByLabel("Okta API token").getAttribute("type")).to.equal("password");
    await page.getByRole("button", { name: "Save directory" }).click();
    await page.getByText("The directory was saved.").waitFor();
    expect(await page.getByRole("main").textContent()).to.include("configured: true").and.not.include(API_TOKEN);
    expect(await page.content()).not.to.include(API_TOKEN);
    await checkAccessibility("directory");
    await page.getByRole("button", { name: "Test connection" }).click();
    await page.getByText("Connection works.").waitFor();
    expect(await page.getByRole("status").filter({ hasText: "Connection works." }).textContent()).to.include(`okta answered: ${users.length} assigned user(s), 0 assigned group(s)`).and.include(`users: ${users.length}, groups: 0`);
    await screenshot(page, "directory");
    await checkAccessibility("directory test result");

    await page.getByRole("navigation", { name: "Portal sections" }).getByRole("link", { name: "Reconciliation" }).click();
    await page.getByLabel("Compare with").selectOption("idp");
    await page.getByRole("button", { name: "Run reconciliation" }).click();
    await page.getByText("The reconciliation run finished.").waitFor();
    const inactive = page.getByRole("region", { name: /Inactive in the IdP/ });
    await inactive.waitFor();
    expect(await inactive.getByRole("row", { name: /sam@acme\.example/ }).textContent()).to.include("suspended_in_idp").and.include("SUSPENDED");
    expect(await page.getByRole("main").textContent()).to.include("Compared with: The IdP's directory (IdP).");
    await screenshot(page, "reconcile-idp-findings");
    await checkAccessibility("reconcile idp findings");
    await inactive.getByRole("button", { name: "Repair" }).click();
    await page.getByRole("button", { name: "Confirm repair" }).click();
    // One of a handful of active users is more than the directory's 20% limit: the guard holds the repair back.
    await page.getByRole("heading", { name: "Rollcall held back the repair (Inactive in the IdP)" }).waitFor();
    expect(await page.getByRole("main").textContent()).to.include("Nothing was changed.").and.include(`It would deactivate 1 of ${users.length} active user(s); the limit is 20% of active users.`);
    const samActive = async () => (await service.deps.db.sequelize.query<{ active: boolean }>(
      `SELECT active FROM users WHERE organization_id = $1 AND user_name = 'sam@acme.example'`, { bind: [orgId], type: QueryTypes.SELECT },
    ))[0]!.active;
    expect(await samActive()).to.equal(true);
    await screenshot(page, "repair-blast-radius");
    await checkAccessibility("blast radius confirmation");
    await page.getByRole("button", { name: "Repair anyway" }).click();
    await page.getByText("The repair run finished.").waitFor();
    expect(await page.getByRole("main").textContent()).to.include("deactivate_user: repaired");
    expect(await samActive()).to.equal(false);
  });

  it("finds users and teams by search, and shows connection health", async () => {
    await scim(base(), scimToken, "POST", "/Groups", { schemas: ["urn:ietf:params:scim:schemas:core:2.0:Group"], displayName: "Engineering" });
    await page.getByRole("link", { name: "Users" }).click();
    await page.getByRole("searchbox").fill("grace");
    await page.getByRole("button", { name: "Search" }).click();
    await page.getByRole("row", { name: /grace@acme\.example/ }).first().waitFor();
    expect(await page.getByRole("row", { name: /ada@acme\.example/ }).count()).to.equal(0);
    await screenshot(page, "users");
    await checkAccessibility("users");
    await page.getByRole("link", { name: "Teams" }).click();
    await page.getByRole("row", { name: /Engineering/ }).waitFor();
    await checkAccessibility("teams");
    // What Entra ID's "Test Connection" sends: a lookup of a userName nobody has.
    expect((await scim(base(), scimToken, "GET", '/Users?filter=userName%20eq%20%22probe-7c1f%22')).status).to.equal(200);
    await service.deps.requestLog.flush();
    await page.getByRole("link", { name: "Connection health" }).click();
    const health = await page.getByRole("main").textContent();
    expect(health).to.include("Last request from the IdP").and.include("/scim/v2/Users?filter=userName%20eq%20%22probe-7c1f%22");
    await screenshot(page, "health");
    await checkAccessibility("health");
    await page.getByRole("link", { name: "Setup" }).click();
    await page.getByRole("link", { name: "Okta" }).click();
    expect(await page.getByRole("main").textContent()).to.include("Import Groups").and.include("Push Groups").and.include("401");
    await screenshot(page, "guide-okta");
    await checkAccessibility("okta guide");
  });

  it("escapes IdP-supplied text and blocks script the page did not load from its own files", async () => {
    await scim(base(), scimToken, "POST", "/Users", scimUserBody({ userName: "mallory@acme.example", name: { givenName: "<img src=x onerror=alert(1)>", familyName: "X" }, emails: [{ value: "mallory@acme.example", primary: true }] }));
    await page.goto(`${base()}/portal/users?q=mallory`);
    expect((await page.getByRole("row", { name: /mallory/ }).first().textContent())?.toLowerCase()).to.include("<img src=x onerror=alert(1)>");
    expect(await page.locator("main img").count()).to.equal(0);
    const blocked = await page.evaluate(() => new Promise<string>((resolve) => {
      document.addEventListener("securitypolicyviolation", (event) => resolve(event.violatedDirective), { once: true });
      const script = document.createElement("script");
      script.textContent = "window.__injected = true";
      document.body.append(script);
      setTimeout(() => resolve("no violation"), 2000);
    }));
    expect(blocked).to.match(/^script-src/);
    expect(await page.evaluate(() => (window as unknown as { __injected?: boolean }).__injected)).to.equal(undefined);
  });

  it("keeps the session to its organization: another organization's run is not found", async () => {
    const otherRun = (await admin(base(), "POST", `/v1/organizations/${otherOrgId}/reconcile`, {})).body.id;
    const response = await page.goto(`${base()}/portal/reconcile/runs/${otherRun}`);
    expect(response?.status()).to.equal(404);
    await page.getByRole("heading", { name: "Not found" }).waitFor();
  });

  it("refuses a form posted from another site's page (CSRF)", async () => {
    const attackerPort = await freePort();
    const attacker: Server = createServer((_req, res) => {
      res.setHeader("Content-Type", "text/html");
      res.end(`<!doctype html><html lang="en"><title>x</title><form method="post" action="${base()}/portal/tokens"><input name="name" value="evil"><button>Win a prize</button></form></html>`);
    });
    await new Promise<void>((resolve) => attacker.listen(attackerPort, "127.0.0.1", resolve));
    try {
      // Another origin on the same site (like a sibling subdomain): SameSite lets the cookie through, so the CSRF check must refuse.
      await page.goto(`http://127.0.0.1:${attackerPort}/`);
      const [response] = await Promise.all([page.waitForResponse((r) => r.url().endsWith("/portal/tokens")), page.getByRole("button", { name: "Win a prize" }).click()]);
      expect(response.status()).to.equal(403);
      const tokens = await admin(base(), "GET", `/v1/organizations/${orgId}/scim/tokens`);
      expect(tokens.body.data.map((t: { name: string }) => t.name)).not.to.include("evil");
    } finally {
      attacker.closeAllConnections(); // the browser keeps its connection alive; close would wait for it
      await new Promise((resolve) => attacker.close(resolve));
    }
  });

  it("refuses a used or tampered link with an explanation", async () => {
    const { url } = await portalLink(base(), orgId);
    const tampered = `${url.slice(0, -2)}${url.endsWith("AA") ? "BB" : "AA"}`;
    const fresh = await context.newPage();
    expect((await fresh.goto(tampered))?.status()).to.equal(401);
    await fresh.getByRole("heading", { name: "This portal link does not work" }).waitFor();
    await fresh.goto(url);
    await fresh.waitForURL(`${base()}/portal/setup`);
    expect((await fresh.goto(url))?.status()).to.equal(401);
    await fresh.close();
  });

  it("has no serious or critical accessibility violation on any page checked", () => {
    expect(seenViolations).to.deep.equal([]);
  });
});
