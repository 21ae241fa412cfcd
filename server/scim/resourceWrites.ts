import type { Actor } from "../changes/change.ts";
import type { WriteScope } from "../domain/writeContext.ts";
import { createUser, deleteUser, patchUser, replaceUser, type UserCommandDeps } from "../commands/users/userCommands.ts";
import { createGroup, deleteGroup, patchGroup, replaceGroup, type GroupCommandDeps } from "../commands/groups/groupCommands.ts";
import type { MembershipRow, TeamRow, UserRow } from "../models/rows.ts";

/** The SCIM resource endpoints that can be written. */
export type ScimResource = "Users" | "Groups";

/**
 * One write of a SCIM resource, as a single request (`POST /Users`) or one operation of a Bulk
 * request (RFC 7644 §3.7) names it: both go through `performScimWrite`, so they run the same
 * command — same validation, mapping, events, audit, webhooks, ETags and locking.
 */
export type ScimWrite =
  | { method: "POST"; resource: ScimResource; body: unknown }
  | { method: "PUT" | "PATCH"; resource: ScimResource; id: string; body: unknown; ifMatch: string | undefined }
  | { method: "DELETE"; resource: ScimResource; id: string; ifMatch: string | undefined };

/** What a write did: the HTTP status it answers with, the resource's URL and, unless deleted, the row. */
export type ScimWriteOutcome =
  | { status: 200 | 201; resource: "Users"; location: string; version: number; id: string; row: UserRow; memberships: MembershipRow[] }
  | { status: 200 | 201; resource: "Groups"; location: string; version: number; id: string; row: TeamRow }
  | { status: 204; resource: ScimResource; location: string; id: string };

export type ScimWriteDeps = GroupCommandDeps & UserCommandDeps;

/** Runs one write through its command; `scimBase` is the public `…/scim/v2` the Location names. */
export async function performScimWrite(deps: ScimWriteDeps, tenant: WriteScope, actor: Actor, scimBase: string, write: ScimWrite): Promise<ScimWriteOutcome> {
  const locationOf = (id: string) => `${scimBase}/${write.resource}/${id}`;
  if (write.method === "DELETE") {
    await (write.resource === "Users" ? deleteUser : deleteGroup)(deps, tenant, actor, write.id, write.ifMatch);
    return { status: 204, resource: write.resource, location: locationOf(write.id), id: write.id };
  }
  const status = write.method === "POST" ? 201 : 200;
  if (write.resource === "Users") {
    const { row, memberships } =
      write.method === "POST" ? await createUser(deps, tenant, actor, write.body)
      : write.method === "PUT" ? await replaceUser(deps, tenant, actor, write.id, write.body, write.ifMatch)
      : await patchUser(deps, tenant, actor, write.id, write.body, write.ifMatch);
    return { status, resource: "Users", location: locationOf(row.id), version: row.version, id: row.id, row, memberships };
  }
  const { row } =
    write.method === "POST" ? await createGroup(deps, tenant, actor, write.body)
    : write.method === "PUT" ? await replaceGroup(deps, tenant, actor, write.id, write.body, write.ifMatch)
    : await patchGroup(deps, tenant, actor, write.id, write.body, write.ifMatch);
  return { status, resource: "Groups", location: locationOf(row.id), version: row.version, id: row.id, row };
}
