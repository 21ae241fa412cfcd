import { scim } from "../../helpers/http.ts";
import { createOrgWithToken, scimUserBody, unique } from "../../helpers/factories.ts";
import type { FuzzTargets } from "./fuzzGenerator.ts";

async function seedOrganization(baseUrl: string, token: string, users: number, groups: number): Promise<{ userIds: string[]; groupIds: string[] }> {
  const userIds: string[] = [];
  for (let i = 0; i < users; i++) {
    const created = await scim(baseUrl, token, "POST", "/Users", scimUserBody());
    if (created.status !== 201) throw new Error(`seed user create failed: ${created.status} ${created.text}`);
    userIds.push(created.body.id);
  }
  const groupIds: string[] = [];
  for (let i = 0; i < groups; i++) {
    const members = userIds.slice(i, i + 3).map((value) => ({ value }));
    const created = await scim(baseUrl, token, "POST", "/Groups", { displayName: `Fuzz team ${unique()}`, members });
    if (created.status !== 201) throw new Error(`seed group create failed: ${created.status} ${created.text}`);
    groupIds.push(created.body.id);
  }
  return { userIds, groupIds };
}

/** Two organizations with users and groups: the one the fuzzer attacks, and another whose ids it throws in. */
export async function setUpFuzzTargets(baseUrl: string): Promise<FuzzTargets & { orgId: string; otherOrgId: string }> {
  const a = await createOrgWithToken(baseUrl);
  const b = await createOrgWithToken(baseUrl);
  const own = await seedOrganization(baseUrl, a.token, 20, 5);
  const foreign = await seedOrganization(baseUrl, b.token, 10, 3);
  return {
    orgId: a.orgId,
    otherOrgId: b.orgId,
    token: a.token,
    otherToken: b.token,
    userIds: own.userIds,
    groupIds: own.groupIds,
    foreignIds: [...foreign.userIds, ...foreign.groupIds],
  };
}

/** After a fuzz run: the server is up, ready, and still does a normal create and read. */
export async function healthAfterFuzz(baseUrl: string, token: string): Promise<{ healthz: number; readyz: number; create: number; read: number }> {
  const healthz = (await fetch(`${baseUrl}/healthz`)).status;
  const readyz = (await fetch(`${baseUrl}/readyz`)).status;
  const created = await scim(baseUrl, token, "POST", "/Users", scimUserBody());
  const read = created.status === 201 ? (await scim(baseUrl, token, "GET", `/Users/${created.body.id}`)).status : 0;
  return { healthz, readyz, create: created.status, read };
}
