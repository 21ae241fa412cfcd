import { randomBytes } from "node:crypto";
import { admin } from "./http.ts";

export type OrgWithToken = { orgId: string; token: string; tokenId: string; connectionId: string };

/** A unique suffix for names in one test. */
export const unique = () => randomBytes(4).toString("hex");

/** Creates an organization and a SCIM token for it through the admin API. */
export async function createOrgWithToken(baseUrl: string, options: { provider?: string } = {}): Promise<OrgWithToken> {
  const org = await admin(baseUrl, "POST", "/v1/organizations", { name: `Test Org ${unique()}` });
  if (org.status !== 201) throw new Error(`org create failed: ${org.status} ${org.text}`);
  let connectionId: string | undefined;
  if (options.provider) {
    const conn = await admin(baseUrl, "POST", `/v1/organizations/${org.body.id}/enterprise_connections`, { name: options.provider, provider: options.provider });
    connectionId = conn.body.id;
  }
  const token = await admin(baseUrl, "POST", `/v1/organizations/${org.body.id}/scim/tokens`, {
    name: "test",
    ...(connectionId ? { enterprise_connection_id: connectionId } : {}),
  });
  if (token.status !== 201) throw new Error(`token create failed: ${token.status} ${token.text}`);
  return { orgId: org.body.id, token: token.body.token, tokenId: token.body.id, connectionId: token.body.enterprise_connection_id };
}

/** A minimal valid SCIM user body. */
export function scimUserBody(overrides: Record<string, unknown> = {}): Record<string, unknown> {
  const id = unique();
  return {
    schemas: ["urn:ietf:params:scim:schemas:core:2.0:User"],
    userName: `user.${id}@example.com`,
    name: { givenName: "Test", familyName: `User${id}` },
    emails: [{ value: `user.${id}@example.com`, type: "work", primary: true }],
    externalId: `ext-${id}`,
    active: true,
    ...overrides,
  };
}
