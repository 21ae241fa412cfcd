import { expect } from "chai";
import { scimEventsOf, securityEventClaims, SCIM_EVENT_SOURCES } from "../../server/webhooks/formats/securityEvent.ts";
import { interpretSetResponse } from "../../server/webhooks/formats/scimEvents.ts";
import { signingSecrets } from "../../server/webhooks/formats/standardWebhooks.ts";
import { WEBHOOK_EVENT_TYPES, type EventPayload, type WebhookEventType } from "../../server/webhooks/eventPayload.ts";
import type { AttemptResult } from "../../server/webhooks/sender.ts";

const PROV = "urn:ietf:params:scim:event:prov";
const user = {
  id: "user_1",
  user_name: "ada@example.com",
  email_address: "ada@example.com",
  first_name: "Ada",
  last_name: null,
  scim_external_id: "00u1",
  active: true,
  created_at: 1_700_000_000_000,
  updated_at: 1_700_000_500_000,
};
const group = { id: "team_1", name: "Eng", external_id: null, created_at: 1_700_000_000_000, updated_at: 1_700_000_000_000 };
const payload = (type: WebhookEventType, data: Record<string, unknown>): EventPayload => ({ type, object: "event", timestamp: "2026-12-08T02:00:00.000Z", data });
const uris = (type: WebhookEventType, data: Record<string, unknown>, mode: "full" | "notice" = "full") => Object.keys(scimEventsOf(payload(type, data), mode)?.events ?? {});

describe("SCIM security events (RFC 9967 mapping, RFC 8935 answers)", () => {
  it("maps every user and group transition to its RFC 9967 URI", () => {
    expect(uris("scimUser.provisioned", { user })).to.deep.equal([`${PROV}:create:full`]);
    expect(uris("scimUser.provisioned", { user, reactivated: true })).to.deep.equal([`${PROV}:activate`]);
    expect(uris("scimUser.deprovisioned", { user: { ...user, active: false } })).to.deep.equal([`${PROV}:deactivate`]);
    expect(uris("scimUser.deprovisioned", { user, deleted: true })).to.deep.equal([`${PROV}:delete`]);
    expect(uris("scimUser.updated", { user }, "notice")).to.deep.equal([`${PROV}:put:notice`]);
    expect(uris("scimGroup.created", { group, members_added: [] })).to.deep.equal([`${PROV}:create:full`]);
    expect(uris("scimGroup.updated", { group, members_added: [], members_removed: [] })).to.deep.equal([`${PROV}:patch:full`]);
    expect(uris("scimGroup.deleted", { group })).to.deep.equal([`${PROV}:delete`]);
  });

  it("has no event for the types outside SCIM_EVENT_SOURCES", () => {
    const others = WEBHOOK_EVENT_TYPES.filter((t) => !SCIM_EVENT_SOURCES.includes(t));
    expect(others).to.deep.equal(["reconciler.drift_detected", "webhookEndpoint.disabled"]);
    for (const type of others) expect(scimEventsOf(payload(type, { user, group }), "full")).to.equal(null);
  });

  it("carries exactly one of data (full) or attributes (notice)", () => {
    const full = scimEventsOf(payload("scimUser.provisioned", { user }), "full")!.events[`${PROV}:create:full`]!;
    expect(Object.keys(full)).to.deep.equal(["data"]);
    expect(full.data).to.deep.include({ id: "user_1", userName: "ada@example.com", externalId: "00u1", name: { givenName: "Ada" }, active: true });
    const notice = scimEventsOf(payload("scimUser.provisioned", { user }), "notice")!.events[`${PROV}:create:notice`]!;
    expect(Object.keys(notice)).to.deep.equal(["attributes"]);
    expect(notice.attributes).to.deep.equal(["id", "externalId", "userName", "name", "emails", "active"]);
  });

  it("describes a group update as a PatchOp adding and removing members", () => {
    const events = scimEventsOf(payload("scimGroup.updated", { group, members_added: ["user_2"], members_removed: ["user_3"] }), "full")!.events;
    expect(events[`${PROV}:patch:full`]!.data).to.deep.equal({
      schemas: ["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
      Operations: [
        { op: "replace", value: { displayName: "Eng" } },
        { op: "add", path: "members", value: [{ value: "user_2", $ref: "/Users/user_2" }] },
        { op: "remove", path: 'members[value eq "user_3"]' },
      ],
    });
    const notice = scimEventsOf(payload("scimGroup.updated", { group, members_added: [], members_removed: [] }), "notice")!.events;
    expect(notice[`${PROV}:patch:notice`]).to.deep.equal({ attributes: ["displayName"] });
  });

  it("fills the SET claims: iss, aud, jti, txn, iat = toe = the event time, sub_id in the scim format", () => {
    const claims = securityEventClaims(payload("scimUser.provisioned", { user }), { issuer: "https://rollcall.example.com", audience: "https://rp.example/hook", jti: "whdl_1", txn: "msg_1", mode: "full" })!;
    expect(claims).to.include({ iss: "https://rollcall.example.com", aud: "https://rp.example/hook", jti: "whdl_1", txn: "msg_1", iat: 1_796_695_200, toe: 1_796_695_200 });
    expect(claims.sub_id).to.deep.equal({ format: "scim", uri: "/Users/user_1", id: "user_1", externalId: "00u1" });
    expect(claims).to.not.have.property("sub");
  });

  describe("interpreting the receiver's answer", () => {
    const answer = (statusCode: number, responseExcerpt: string | null): AttemptResult => ({ ok: statusCode >= 200 && statusCode < 300, statusCode, latencyMs: 3, responseExcerpt, error: statusCode < 300 ? null : `HTTP ${statusCode}` });

    it("takes 202 as accepted", () => {
      expect(interpretSetResponse(answer(202, null))).to.include({ ok: true });
    });
    it("takes a 400 with an err code as a final rejection naming the code", () => {
      const result = interpretSetResponse(answer(400, '{"err":"invalid_key","description":"unknown kid"}'));
      expect(result).to.include({ ok: false, permanent: true, error: "SET rejected (invalid_key): unknown kid" });
    });
    it("finds the code in a body cut short", () => {
      expect(interpretSetResponse(answer(400, `{"err":"invalid_request","description":"${"x".repeat(600)}`.slice(0, 500)))).to.include({ permanent: true, error: "SET rejected (invalid_request)" });
    });
    it("retries a 400 without the error body, and any other failure", () => {
      expect(interpretSetResponse(answer(400, "Bad Request"))).to.not.have.property("permanent");
      expect(interpretSetResponse(answer(500, '{"err":"invalid_key"}'))).to.not.have.property("permanent");
    });
  });

  it("signs with the previous secret too until its overlap ends", () => {
    const endpoint = { secret: "whsec_new", previous_secret: "whsec_old", previous_secret_expires_at: new Date(2_000) };
    expect(signingSecrets(endpoint, new Date(1_999))).to.deep.equal(["whsec_new", "whsec_old"]);
    expect(signingSecrets(endpoint, new Date(2_000))).to.deep.equal(["whsec_new"]);
    expect(signingSecrets({ secret: "whsec_new", previous_secret: null, previous_secret_expires_at: null }, new Date(0))).to.deep.equal(["whsec_new"]);
  });
});
