import { expect } from "chai";
import { randomBytes } from "node:crypto";
import { Webhook } from "standardwebhooks";
import { signPayload } from "../../server/webhooks/signature.ts";
import { standardWebhookHeaders } from "../../server/webhooks/formats/standardWebhooks.ts";

describe("webhook signature (node:crypto) matches the standardwebhooks package", () => {
  it("signs byte for byte as Webhook#sign, for prefixed and bare secrets and non-ASCII bodies", () => {
    for (let i = 0; i < 200; i++) {
      const key = randomBytes(16 + (i % 24)).toString("base64");
      const secret = i % 2 === 0 ? `whsec_${key}` : key;
      const body = JSON.stringify({ n: i, text: "é ✓ 𝄞 ".repeat(i % 7), pad: randomBytes(i % 50).toString("hex") });
      const at = new Date(1_700_000_000_000 + i * 999);
      expect(signPayload(secret, `msg_${i}`, at, body)).to.equal(new Webhook(secret).sign(`msg_${i}`, at, body));
    }
  });

  it("gives headers a Standard Webhooks consumer verifies, and a tampered body fails", () => {
    const secret = `whsec_${randomBytes(24).toString("base64")}`;
    const body = JSON.stringify({ type: "scimUser.updated", data: { name: "Zoë" } });
    const headers = standardWebhookHeaders({ secrets: [secret], msgId: "msg_1", body, timestamp: new Date() });
    expect(new Webhook(secret).verify(body, headers)).to.deep.equal(JSON.parse(body));
    expect(() => new Webhook(secret).verify(body.replace("Zoë", "Zoe"), headers)).to.throw();
  });
});
