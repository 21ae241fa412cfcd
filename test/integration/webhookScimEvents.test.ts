import { expect } from "chai";
import { createPublicKey, verify, type JsonWebKey } from "node:crypto";
import { Webhook, WebhookVerificationError } from "standardwebhooks";
import { admin, request, scim } from "../helpers/http.ts";
import { createOrgWithToken, scimUserBody, unique } from "../helpers/factories.ts";
import { createManualClock, startIsolatedService, startWebhookReceiver, type ReceivedWebhook, type WebhookReceiver } from "../helpers/webhookReceiver.ts";
import type { Service } from "../../server/main.ts";
import { createMetrics } from "../../server/metrics.ts";
import { createDispatcher, type Dispatcher } from "../../server/webhooks/dispatcher.ts";
import { recordEvent } from "../../server/webhooks/outbox.ts";
import { RETRY_DELAYS_MS } from "../../server/webhooks/backoff.ts";
import { signingKeySet } from "../../server/webhooks/signingKeys.ts";

/*
 * SCIM security events (RFC 8417 SETs with RFC 9967 events, pushed per RFC 8935) and secret
 * rotation, end to end: real SCIM writes, a real dispatcher, a real receiver on 127.0.0.1.
 * The SETs are checked with node:crypto and a hand-written JWS parser, not with the `jose`
 * package that signs them, against the key fetched from /.well-known/jwks.json.
 */

const PROV = "urn:ietf:params:scim:event:prov";
const PATCH_OP = "urn:ietf:params:scim:api:messages:2.0:PatchOp";
const GROUP = "urn:ietf:params:scim:schemas:core:2.0:Group";

type Jwks = { keys: Array<JsonWebKey & { kid: string; alg: string; use: string }> };
type SetClaims = {
  iss: string;
  iat: number;
  jti: string;
  aud: string;
  txn: string;
  toe: number;
  sub?: unknown;
  sub_id: { format: string; uri: string; id: string; externalId?: string };
  events: Record<string, { data?: any; attributes?: string[] }>;
};

const b64url = (part: string) => Buffer.from(part, "base64url");

/** Parses and verifies a compact JWS by hand: three parts, ES256 over `header.payload`, raw r||s signature. */
function verifySet(token: string, jwks: Jwks): { header: Record<string, unknown>; claims: SetClaims } {
  const parts = token.split(".");
  expect(parts).to.have.length(3);
  const [h, p, s] = parts as [string, string, string];
  const header = JSON.parse(b64url(h).toString("utf8")) as Record<string, unknown>;
  expect(header).to.include({ alg: "ES256", typ: "secevent+jwt" });
  const jwk = jwks.keys.find((k) => k.kid === header.kid);
  expect(jwk, `kid ${String(header.kid)} is published`).to.not.equal(undefined);
  const key = createPublicKey({ key: { kty: jwk!.kty!, crv: jwk!.crv!, x: jwk!.x!, y: jwk!.y! }, format: "jwk" });
  const ok = verify("sha256", Buffer.from(`${h}.${p}`, "ascii"), { key, dsaEncoding: "ieee-p1363" }, b64url(s));
  expect(ok, "ES256 signature verifies").to.equal(true);
  return { header, claims: JSON.parse(b64url(p).toString("utf8")) as SetClaims };
}

function headersOf(request: ReceivedWebhook): Record<string, string> {
  return Object.fromEntries(Object.entries(request.headers).map(([name, value]) => [name, String(value)]));
}

describe("webhook formats: SCIM security events (RFC 8417/9967/8935) and secret rotation", () => {
  const clock = createManualClock();
  let service: Service;
  let stopService: () => Promise<void>;
  let receiver: WebhookReceiver;
  let dispatcher: Dispatcher | undefined;
  const orgs: string[] = [];
  const base = () => service.url!;
  const sequelize = () => service.deps.db.sequelize;

  before(async function () {
    this.timeout(60_000);
    ({ service, stop: stopService } = await startIsolatedService({ clock }));
  });
  after(async () => {
    await stopService?.();
  });
  beforeEach(async () => {
    clock.set(new Date());
    receiver = await startWebhookReceiver();
  });
  afterEach(async () => {
    await dispatcher?.stop();
    dispatcher = undefined;
    await receiver.close();
    await sequelize().query(`UPDATE webhook_deliveries SET status = 'failed' WHERE organization_id = ANY ($1::text[]) AND status = 'pending'`, { bind: [orgs] });
  });

  function newDispatcher(): Dispatcher {
    dispatcher = createDispatcher(
      {
        sequelize: sequelize(),
        logger: service.deps.logger,
        metrics: createMetrics({ defaultMetrics: false }),
        clock,
        config: { webhooks: service.deps.config.webhooks, publicUrl: service.deps.config.publicUrl },
      },
      { random: () => 0 },
    );
    return dispatcher;
  }

  async function drain(): Promise<void> {
    const d = dispatcher ?? newDispatcher();
    while ((await d.runOnce()) > 0);
  }

  async function org(): Promise<{ orgId: string; token: string }> {
    const created = await createOrgWithToken(base());
    orgs.push(created.orgId);
    return created;
  }

  async function endpoint(orgId: string, body: Record<string, unknown>) {
    const res = await admin(base(), "POST", `/v1/organizations/${orgId}/webhook_endpoints`, { url: receiver.url, ...body });
    expect(res.status, res.text).to.equal(201);
    return res.body as { id: string; secret: string; format: string; scim_events_mode: string };
  }

  async function jwks(): Promise<Jwks> {
    const res = await request(base(), "GET", "/.well-known/jwks.json");
    expect(res.status).to.equal(200);
    return JSON.parse(res.text) as Jwks;
  }

  const deliveriesOf = async (orgId: string, endpointId: string) =>
    (await admin(base(), "GET", `/v1/organizations/${orgId}/webhook_deliveries?endpoint_id=${endpointId}&limit=100`)).body.data as Array<{
      id: string;
      event_id: string;
      event_type: string;
      status: string;
      attempt_count: number;
      next_attempt_at: number | null;
      attempts: Array<{ status_code: number | null; error: string | null }>;
    }>;

  // First in this file: the database has no signing key yet.
  it("creates one signing key when several callers race for the first one", async () => {
    const sets = await Promise.all(Array.from({ length: 6 }, () => signingKeySet(sequelize(), clock.now())));
    const kids = new Set(sets.flatMap((set) => set.keys.map((k) => k.kid)));
    expect(kids.size).to.equal(1);
    const rows = (await sequelize().query(`SELECT id FROM webhook_signing_keys`))[0] as Array<{ id: string }>;
    expect(rows.map((r) => r.id)).to.deep.equal([...kids]);
  });

  it("publishes an ES256 key at /.well-known/jwks.json without auth, its private half sealed at rest", async () => {
    const first = await jwks();
    expect(first.keys).to.have.length(1);
    const [key] = first.keys;
    expect(key).to.include({ kty: "EC", crv: "P-256", alg: "ES256", use: "sig" });
    expect(key).to.not.have.property("d");
    expect(key!.kid).to.be.a("string").with.length.above(20);
    expect((await jwks()).keys.map((k) => k.kid)).to.deep.equal([key!.kid]);
    const [row] = (await sequelize().query(`SELECT private_key FROM webhook_signing_keys WHERE id = $1`, { bind: [key!.kid] }))[0] as Array<{ private_key: string }>;
    expect(row!.private_key.startsWith("rcenc:v1:")).to.equal(true);
    expect(row!.private_key).to.not.contain("PRIVATE KEY");
  });

  it("pushes users' and groups' lifecycle as signed SETs with the RFC 9967 event URIs (full mode)", async function () {
    this.timeout(30_000);
    const { orgId, token } = await org();
    const hook = await endpoint(orgId, { format: "scim-events" });
    expect(hook).to.include({ format: "scim-events", scim_events_mode: "full" });
    receiver.script(...Array.from({ length: 20 }, () => ({ status: 202 })));

    const user = await scim(base(), token, "POST", "/Users", scimUserBody({ externalId: "okta-00u1" }));
    const userId = user.body.id as string;
    const patch = (value: Record<string, unknown>) => scim(base(), token, "PATCH", `/Users/${userId}`, { schemas: [PATCH_OP], Operations: [{ op: "replace", value }] });
    expect((await patch({ name: { givenName: "Renamed", familyName: "Person" } })).status).to.equal(200);
    expect((await patch({ active: false })).status).to.equal(200);
    expect((await patch({ active: true })).status).to.equal(200);
    const group = await scim(base(), token, "POST", "/Groups", { schemas: [GROUP], displayName: `Eng ${unique()}`, externalId: "grp-1", members: [{ value: userId }] });
    expect(group.status, group.text).to.equal(201);
    const groupId = group.body.id as string;
    const other = await scim(base(), token, "POST", "/Users", scimUserBody());
    expect((await scim(base(), token, "PATCH", `/Groups/${groupId}`, { schemas: [PATCH_OP], Operations: [{ op: "add", path: "members", value: [{ value: other.body.id }] }] })).status).to.equal(204);
    expect((await scim(base(), token, "DELETE", `/Groups/${groupId}`)).status).to.equal(204);
    expect((await scim(base(), token, "DELETE", `/Users/${userId}`)).status).to.equal(204);
    // No RFC 9967 counterpart: never fanned out to a scim-events endpoint.
    await sequelize().transaction((t) => recordEvent(sequelize(), t, { organizationId: orgId, type: "reconciler.drift_detected", subjectId: `run_${unique()}`, data: {} }, clock.now()));

    await drain();
    const keys = await jwks();
    const sets = receiver.received.map((r) => {
      expect(r.headers["content-type"]).to.equal("application/secevent+jwt");
      return verifySet(r.body, keys).claims;
    });
    const deliveries = await deliveriesOf(orgId, hook.id);
    expect(deliveries.map((d) => d.event_type)).to.not.include("reconciler.drift_detected");
    expect(deliveries.every((d) => d.status === "succeeded")).to.equal(true);
    expect(sets).to.have.length(deliveries.length);

    const ofUser = sets.filter((s) => s.sub_id.uri === `/Users/${userId}`);
    expect(ofUser.map((s) => Object.keys(s.events))).to.deep.equal([
      [`${PROV}:create:full`],
      [`${PROV}:put:full`],
      [`${PROV}:deactivate`],
      [`${PROV}:activate`],
      [`${PROV}:delete`],
    ]);
    const created = ofUser[0]!;
    expect(created.sub_id).to.deep.equal({ format: "scim", uri: `/Users/${userId}`, id: userId, externalId: "okta-00u1" });
    expect(created.events[`${PROV}:create:full`]!.data).to.include({ id: userId, userName: user.body.userName, externalId: "okta-00u1", active: true });
    expect(created.events[`${PROV}:create:full`]!.data.schemas).to.deep.equal(["urn:ietf:params:scim:schemas:core:2.0:User"]);
    expect(ofUser[1]!.events[`${PROV}:put:full`]!.data.name).to.deep.equal({ givenName: "Renamed", familyName: "Person" });
    expect(ofUser[2]!.events[`${PROV}:deactivate`]).to.deep.equal({});
    expect(ofUser[4]!.events[`${PROV}:delete`]).to.deep.equal({});

    const ofGroup = sets.filter((s) => s.sub_id.uri === `/Groups/${groupId}`);
    expect(ofGroup.map((s) => Object.keys(s.events))).to.deep.equal([[`${PROV}:create:full`], [`${PROV}:patch:full`], [`${PROV}:delete`]]);
    expect(ofGroup[0]!.events[`${PROV}:create:full`]!.data.members).to.deep.equal([{ value: userId, $ref: `/Users/${userId}` }]);
    const patchData = ofGroup[1]!.events[`${PROV}:patch:full`]!.data;
    expect(patchData.schemas).to.deep.equal([PATCH_OP]);
    expect(patchData.Operations).to.deep.include({ op: "add", path: "members", value: [{ value: other.body.id, $ref: `/Users/${other.body.id}` }] });

    // RFC 8417 / 9967 claims: issuer, audience, ids, times; never "sub".
    const byDelivery = new Map(deliveries.map((d) => [d.id, d]));
    for (const set of sets) {
      expect(set.iss).to.equal(service.deps.config.publicUrl);
      expect(set.aud).to.equal(receiver.url);
      expect(set).to.not.have.property("sub");
      const delivery = byDelivery.get(set.jti);
      expect(delivery, "jti is the delivery id").to.not.equal(undefined);
      expect(set.txn).to.equal(delivery!.event_id);
      expect(set.iat).to.be.a("number").within(Math.floor(clock.now().getTime() / 1000) - 120, Math.floor(clock.now().getTime() / 1000) + 1);
      expect(set.toe).to.equal(set.iat);
      expect(Object.keys(set.events)).to.have.length(1);
    }
    expect(new Set(sets.map((s) => s.jti)).size).to.equal(sets.length);
  });

  it("sends only attribute names in notice mode", async () => {
    const { orgId, token } = await org();
    await endpoint(orgId, { format: "scim-events", scim_events_mode: "notice" });
    receiver.script(202);
    const user = await scim(base(), token, "POST", "/Users", scimUserBody());
    await drain();
    expect(receiver.received).to.have.length(1);
    const { claims } = verifySet(receiver.received[0]!.body, await jwks());
    expect(Object.keys(claims.events)).to.deep.equal([`${PROV}:create:notice`]);
    const notice = claims.events[`${PROV}:create:notice`]!;
    expect(notice).to.not.have.property("data");
    expect(notice.attributes).to.include.members(["id", "userName", "emails", "active"]);
    expect(claims.sub_id.uri).to.equal(`/Users/${user.body.id}`);
  });

  it("takes a 400 with an RFC 8935 error body as final (the code is logged, no retry) and retries other failures", async () => {
    const { orgId, token } = await org();
    const hook = await endpoint(orgId, { format: "scim-events" });
    receiver.script(
      { status: 400, body: JSON.stringify({ err: "invalid_audience", description: "not our feed" }), headers: { "content-type": "application/json" } },
      { status: 400, body: "bad" },
      503,
    );
    await scim(base(), token, "POST", "/Users", scimUserBody());
    await scim(base(), token, "POST", "/Users", scimUserBody());
    await scim(base(), token, "POST", "/Users", scimUserBody());
    await drain();
    expect(receiver.received.map((r) => r.status)).to.deep.equal([400, 400, 503]);
    const deliveries = (await deliveriesOf(orgId, hook.id)).sort((a, b) => a.id.localeCompare(b.id));
    const rejected = deliveries.find((d) => d.attempts[0]?.error?.includes("invalid_audience"));
    expect(rejected, JSON.stringify(deliveries)).to.not.equal(undefined);
    expect(rejected!.status).to.equal("failed");
    expect(rejected!.attempts[0]!.error).to.equal("SET rejected (invalid_audience): not our feed");
    const retried = deliveries.filter((d) => d !== rejected);
    expect(retried.map((d) => d.status)).to.deep.equal(["pending", "pending"]);
    expect(retried.every((d) => d.next_attempt_at !== null)).to.equal(true);

    // After the first retry delay the two retried ones go out again (202 now); the rejected one does not.
    clock.advance(RETRY_DELAYS_MS[0]! + 1_000);
    receiver.script(202, 202);
    await drain();
    expect(receiver.received).to.have.length(5);
    const after = await deliveriesOf(orgId, hook.id);
    expect(after.map((d) => d.status).sort()).to.deep.equal(["failed", "succeeded", "succeeded"]);
  });

  it("PATCH switches the format and mode; a scim-events endpoint refuses events without a SCIM counterpart", async () => {
    const { orgId } = await org();
    const hook = await endpoint(orgId, {});
    expect(hook.format).to.equal("standard-webhooks");
    const patched = await admin(base(), "PATCH", `/v1/organizations/${orgId}/webhook_endpoints/${hook.id}`, { format: "scim-events", scim_events_mode: "notice" });
    expect(patched.status, patched.text).to.equal(200);
    expect(patched.body).to.include({ format: "scim-events", scim_events_mode: "notice" });
    expect(patched.body).to.not.have.property("secret");
    const bad = await admin(base(), "PATCH", `/v1/organizations/${orgId}/webhook_endpoints/${hook.id}`, { format: "scim-events", events: ["reconciler.drift_detected"] });
    expect(bad.status).to.equal(400);
    expect(bad.body.errors[0].meta.issues[0].field).to.equal("events");
    const unknown = await admin(base(), "PATCH", `/v1/organizations/${orgId}/webhook_endpoints/${hook.id}`, { format: "jwt" });
    expect(unknown.status).to.equal(400);
    // A stored filter with an event scim-events cannot carry blocks the switch too.
    const filtered = await endpoint(orgId, { events: ["scimUser.updated", "reconciler.drift_detected"] });
    const switched = await admin(base(), "PATCH", `/v1/organizations/${orgId}/webhook_endpoints/${filtered.id}`, { format: "scim-events" });
    expect(switched.status, switched.text).to.equal(400);
    expect(switched.body.errors[0].meta.issues[0]).to.include({ field: "events" });
    expect(switched.body.errors[0].meta.issues[0].message).to.contain("reconciler.drift_detected");
    const both = await admin(base(), "PATCH", `/v1/organizations/${orgId}/webhook_endpoints/${filtered.id}`, { format: "scim-events", events: ["scimUser.updated"] });
    expect(both.status, both.text).to.equal(200);
    const audit = (await sequelize().query(`SELECT action, changes FROM audit_log WHERE subject_id = $1 ORDER BY created_at`, { bind: [hook.id] }))[0] as Array<{ action: string; changes: unknown }>;
    expect(audit.map((a) => a.action)).to.deep.equal(["webhook_endpoint.updated"]);
    expect(audit[0]!.changes).to.deep.equal({ format: "scim-events", scim_events_mode: "notice" });
  });

  it("rotate_secret shows the new secret once; both secrets sign during the overlap, only the new one after", async () => {
    const { orgId, token } = await org();
    const hook = await endpoint(orgId, {});
    const oldSecret = hook.secret;
    const rotated = await admin(base(), "POST", `/v1/organizations/${orgId}/webhook_endpoints/${hook.id}/rotate_secret`, { overlap_seconds: 60 });
    expect(rotated.status, rotated.text).to.equal(200);
    const newSecret = rotated.body.secret as string;
    expect(newSecret).to.match(/^whsec_[A-Za-z0-9+/]{32}$/);
    expect(newSecret).to.not.equal(oldSecret);
    expect(rotated.body.previous_secret_expires_at).to.equal(clock.now().getTime() + 60_000);
    expect(JSON.stringify(rotated.body)).to.not.contain(oldSecret);

    // Neither secret is readable afterwards.
    const got = await admin(base(), "GET", `/v1/organizations/${orgId}/webhook_endpoints/${hook.id}`);
    const listed = await admin(base(), "GET", `/v1/organizations/${orgId}/webhook_endpoints`);
    for (const text of [got.text, listed.text]) {
      expect(text).to.not.contain(newSecret);
      expect(text).to.not.contain(oldSecret);
    }
    expect(got.body).to.not.have.property("secret");
    const [stored] = (await sequelize().query(`SELECT secret, previous_secret FROM webhook_endpoints WHERE id = $1`, { bind: [hook.id] }))[0] as Array<{ secret: string; previous_secret: string }>;
    expect(stored!.secret.startsWith("rcenc:")).to.equal(true);
    expect(stored!.previous_secret.startsWith("rcenc:")).to.equal(true);

    await scim(base(), token, "POST", "/Users", scimUserBody());
    await drain();
    const during = receiver.received[0]!;
    expect(String(during.headers["webhook-signature"]).split(" ")).to.have.length(2);
    expect(new Webhook(newSecret).verify(during.body, headersOf(during))).to.have.property("type", "scimUser.provisioned");
    expect(new Webhook(oldSecret).verify(during.body, headersOf(during))).to.have.property("type", "scimUser.provisioned");

    clock.advance(61_000);
    await scim(base(), token, "POST", "/Users", scimUserBody());
    await drain();
    const afterOverlap = receiver.received[1]!;
    expect(String(afterOverlap.headers["webhook-signature"]).split(" ")).to.have.length(1);
    expect(new Webhook(newSecret).verify(afterOverlap.body, headersOf(afterOverlap))).to.have.property("type", "scimUser.provisioned");
    expect(() => new Webhook(oldSecret).verify(afterOverlap.body, headersOf(afterOverlap))).to.throw(WebhookVerificationError);

    const audit = (await sequelize().query(`SELECT action, actor_type, changes FROM audit_log WHERE subject_id = $1`, { bind: [hook.id] }))[0] as Array<{ action: string; actor_type: string; changes: unknown }>;
    expect(audit).to.have.length(1);
    expect(audit[0]).to.include({ action: "webhook_endpoint.secret_rotated", actor_type: "admin" });
    expect(JSON.stringify(audit[0]!.changes)).to.not.contain("whsec_");
  });

  it("rotates with the configured overlap by default (24 h), and with none when asked", async () => {
    const { orgId } = await org();
    const hook = await endpoint(orgId, {});
    const rotated = await admin(base(), "POST", `/v1/organizations/${orgId}/webhook_endpoints/${hook.id}/rotate_secret`);
    expect(rotated.status, rotated.text).to.equal(200);
    expect(rotated.body.previous_secret_expires_at).to.equal(clock.now().getTime() + 24 * 3_600_000);
    const immediate = await admin(base(), "POST", `/v1/organizations/${orgId}/webhook_endpoints/${hook.id}/rotate_secret`, { overlap_seconds: 0 });
    expect(immediate.body.previous_secret_expires_at).to.equal(null);
    expect(immediate.body.secret).to.not.equal(rotated.body.secret);
    const invalid = await admin(base(), "POST", `/v1/organizations/${orgId}/webhook_endpoints/${hook.id}/rotate_secret`, { overlap_seconds: -1 });
    expect(invalid.status).to.equal(400);
  });

  it("another organization's endpoint id is 404 for rotate_secret and PATCH, and stays untouched", async () => {
    const a = await org();
    const b = await org();
    const hook = await endpoint(a.orgId, {});
    const rotate = await admin(base(), "POST", `/v1/organizations/${b.orgId}/webhook_endpoints/${hook.id}/rotate_secret`, {});
    expect(rotate.status).to.equal(404);
    expect(rotate.text).to.not.contain("whsec_");
    const patch = await admin(base(), "PATCH", `/v1/organizations/${b.orgId}/webhook_endpoints/${hook.id}`, { url: "http://127.0.0.1:9/stolen", format: "scim-events" });
    expect(patch.status).to.equal(404);
    const got = await admin(base(), "GET", `/v1/organizations/${a.orgId}/webhook_endpoints/${hook.id}`);
    expect(got.body).to.include({ url: receiver.url, format: "standard-webhooks", previous_secret_expires_at: null });
    // The original secret still signs what A's endpoint receives.
    await scim(base(), a.token, "POST", "/Users", scimUserBody());
    await drain();
    expect(receiver.received).to.have.length(1);
    expect(() => new Webhook(hook.secret).verify(receiver.received[0]!.body, headersOf(receiver.received[0]!))).to.not.throw();
  });
});
