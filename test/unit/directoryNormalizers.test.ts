import { expect } from "chai";
import { googleThrottled, googleUser } from "../../reconciler/directory/connectors/google.ts";
import { oneloginUser } from "../../reconciler/directory/connectors/onelogin.ts";
import { vendorDetail } from "../../reconciler/directory/connectors/http.ts";

/* How Google and OneLogin answers become directory users and error details (pure). */
describe("Google and OneLogin normalizers", () => {
  it("maps a Google user: suspended and archived are inactive with their own status words", () => {
    const base = { id: "1001", primaryEmail: "ada@acme.com", name: { givenName: "Ada", familyName: "Lovelace" } };
    expect(googleUser(base)).to.deep.equal({
      idpId: "1001", externalId: "1001", userName: "ada@acme.com", email: "ada@acme.com", givenName: "Ada", familyName: "Lovelace", active: true, status: "ACTIVE", assignment: "unknown",
    });
    expect(googleUser({ ...base, suspended: true })).to.include({ active: false, status: "SUSPENDED" });
    expect(googleUser({ ...base, archived: true })).to.include({ active: false, status: "ARCHIVED" });
    expect(googleUser({ ...base, suspended: true, archived: true }).status).to.equal("SUSPENDED");
    expect(googleUser(base, "primaryEmail").externalId).to.equal("ada@acme.com");
    expect(googleUser(base, "none").externalId).to.equal(null);
    expect(googleUser({ id: "1002" })).to.include({ userName: null, givenName: null });
  });

  it("tells Google's quota answers from a refusal by the error reason", () => {
    const quota = (reason: string) => ({ error: { code: 403, message: "Quota exceeded", errors: [{ domain: "usageLimits", reason }] } });
    expect(googleThrottled(403, quota("rateLimitExceeded"))).to.equal(true);
    expect(googleThrottled(403, quota("userRateLimitExceeded"))).to.equal(true);
    expect(googleThrottled(429, quota("rateLimitExceeded"))).to.equal(true);
    expect(googleThrottled(403, { error: { code: 403, message: "Not Authorized to access this resource/api", errors: [{ domain: "global", reason: "forbidden" }] } })).to.equal(false);
    expect(googleThrottled(403, "<html>proxy</html>")).to.equal(false);
    expect(googleThrottled(400, quota("rateLimitExceeded"))).to.equal(false);
  });

  it("maps a OneLogin user: only Suspended (2) takes the app away; userName and externalId as the app's template sends them", () => {
    const user = { id: 42, username: "ada", email: "ada@acme.com", firstname: "Ada", lastname: "L", status: 1, state: 1, external_id: "E-42" };
    const defaults = { user_name_attribute: "email" as const, external_id_attribute: "none" as const };
    expect(oneloginUser(user, defaults)).to.deep.equal({
      idpId: "42", externalId: null, userName: "ada@acme.com", email: "ada@acme.com", givenName: "Ada", familyName: "L", active: true, status: "ACTIVE", assignment: "unknown",
    });
    expect(oneloginUser({ ...user, status: 2 }, defaults)).to.include({ active: false, status: "SUSPENDED" });
    for (const [status, word] of [[0, "UNACTIVATED"], [3, "LOCKED"], [4, "PASSWORD_EXPIRED"], [5, "AWAITING_PASSWORD_RESET"], [7, "PASSWORD_PENDING"]] as const) {
      expect(oneloginUser({ ...user, status }, defaults)).to.include({ active: true, status: word });
    }
    expect(oneloginUser({ ...user, status: 9 }, defaults).status).to.equal("STATUS_9");
    expect(oneloginUser(user, { user_name_attribute: "username", external_id_attribute: "id" })).to.include({ userName: "ada", externalId: "42" });
    expect(oneloginUser(user, { external_id_attribute: "external_id" }).externalId).to.equal("E-42");
  });

  it("words OneLogin's and Google's error bodies", () => {
    expect(vendorDetail({ status: { error: true, code: 401, type: "Unauthorized", message: "Authentication Failure" } })).to.equal("Unauthorized: Authentication Failure");
    expect(vendorDetail({ message: "Unauthorized", statusCode: 401, name: "UnauthorizedError" })).to.equal("Unauthorized");
    expect(vendorDetail({ error: "invalid_grant", error_description: "Invalid JWT Signature." })).to.equal("invalid_grant: Invalid JWT Signature.");
    expect(vendorDetail({ error: { code: 401, message: "Request had invalid authentication credentials." } })).to.equal("401 Request had invalid authentication credentials.");
  });
});
