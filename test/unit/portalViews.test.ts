import { expect } from "chai";
import { html, join } from "../../server/portal/html.ts";
import { explainScimRequest } from "../../server/portal/errorExplanations.ts";
import { changedFields, diffMappings } from "../../server/portal/mappingDiff.ts";
import { blastRadius } from "../../server/portal/blastRadius.ts";
import { csrfTokenFor, csrfTokenMatches } from "../../server/portal/secrets.ts";
import { readSessionCookie } from "../../server/portal/cookies.ts";
import type { Finding } from "../../reconciler/types.ts";

describe("admin portal pure parts", () => {
  it("escapes interpolated text in attributes and content, and passes nested templates through", () => {
    const name = `"><script>alert('x')</script>&`;
    const out = html`<p title="${name}">${name}${html`<b>ok</b>`}${join([1, null, false, "<i>"])}</p>`.value;
    expect(out).to.equal(`<p title="&quot;&gt;&lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt;&amp;">&quot;&gt;&lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt;&amp;<b>ok</b>1&lt;i&gt;</p>`);
  });

  it("explains a 409 on a user create as a userName taken, e.g. by just-in-time sign-in", () => {
    const explained = explainScimRequest({ method: "POST", path: "/scim/v2/Users", status: 409, error: 'A user with userName "a@b.c" already exists.' });
    expect(explained?.title).to.equal("A user with this userName already exists");
    expect(explained?.whatToDo).to.include("just-in-time sign-in");
  });

  it("explains a 409 on a group as a name clash with Okta's Link Group as the way out", () => {
    const explained = explainScimRequest({ method: "POST", path: "/scim/v2/Groups", status: 409, error: 'A group named "Eng" already exists.' });
    expect(explained?.whatToDo).to.include("Link Group");
  });

  it("explains an externalId conflict, a 404, a 429 and a 500 differently, and nothing for a success", () => {
    const titles = [
      { method: "PATCH", path: "/scim/v2/Users/x", status: 409, error: 'externalId "1" belongs to another user.' },
      { method: "PATCH", path: "/scim/v2/Users/x", status: 404, error: "User x not found." },
      { method: "POST", path: "/scim/v2/Users", status: 429, error: null },
      { method: "POST", path: "/scim/v2/Users", status: 500, error: null },
    ].map((r) => explainScimRequest(r)?.title);
    expect(new Set(titles).size).to.equal(4);
    expect(explainScimRequest({ method: "GET", path: "/scim/v2/Users", status: 200, error: null })).to.equal(undefined);
  });

  it("diffs two mapping documents by source path", () => {
    expect(diffMappings({ a: "first_name", b: "last_name" }, { a: "{{ value }}.first_name", c: "public_metadata.c" })).to.deep.equal([
      { kind: "changed", key: "a", before: "first_name", after: "{{ value }}.first_name" },
      { kind: "removed", key: "b", before: "last_name" },
      { kind: "added", key: "c", after: "public_metadata.c" },
    ]);
    expect([...changedFields({ a: 1, m: { x: 1 } }, { a: 1, m: { x: 2 }, n: null })]).to.deep.equal(["m"]);
  });

  it("counts a repair's blast radius per kind and flags more than a fifth of active users", () => {
    const finding = (userId: string, action: Finding["action"]): Finding => ({
      kind: "stale_membership", reason: "user_deactivated", subject: { type: "membership", team_id: "t", user_id: userId }, stored: {}, expected: {}, action,
    });
    const findings = [finding("u1", "delete_membership"), finding("u1", "suspend_membership"), finding("u2", null)];
    const radius = blastRadius(findings, "stale_membership", 5);
    expect(radius).to.include({ findings: 3, repairable: 2, usersAffected: 1, membershipsRemoved: 1, membershipsSuspended: 1, ratio: 0.2, large: false });
    expect(blastRadius(findings, "stale_membership", 4).large).to.equal(true);
  });

  it("derives a per-session CSRF token and compares it in constant time", () => {
    const token = csrfTokenFor("secret-a");
    expect(token).to.equal(csrfTokenFor("secret-a")).and.not.equal(csrfTokenFor("secret-b"));
    expect(csrfTokenMatches(token, token)).to.equal(true);
    expect(csrfTokenMatches(`${token}x`, token)).to.equal(false);
    expect(csrfTokenMatches(undefined, token)).to.equal(false);
  });

  it("reads only a well-formed session cookie value", () => {
    const value = "a".repeat(43);
    expect(readSessionCookie(`x=1; rollcall_portal=${value}; y=2`)).to.equal(value);
    expect(readSessionCookie("rollcall_portal=short")).to.equal(undefined);
    expect(readSessionCookie(undefined)).to.equal(undefined);
  });
});
