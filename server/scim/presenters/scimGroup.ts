import type { TeamRow } from "../../models/rows.ts";
import { etagOf } from "./scimUser.ts";

export const GROUP_SCHEMA = "urn:ietf:params:scim:schemas:core:2.0:Group";

/** A team as a SCIM Group resource; members omitted when the caller did not load them. */
export function presentScimGroup(row: TeamRow, memberIds: string[] | null, baseUrl: string): Record<string, unknown> {
  const resource: Record<string, unknown> = {
    schemas: [GROUP_SCHEMA],
    id: row.id,
    ...(row.external_id !== null ? { externalId: row.external_id } : {}),
    displayName: row.display_name,
  };
  if (memberIds !== null) {
    resource.members = memberIds.map((id) => ({ value: id, $ref: `${baseUrl}/scim/v2/Users/${id}`, type: "User" }));
  }
  resource.meta = {
    resourceType: "Group",
    created: row.created_at.toISOString(),
    lastModified: row.updated_at.toISOString(),
    location: `${baseUrl}/scim/v2/Groups/${row.id}`,
    version: etagOf(row.version),
  };
  return resource;
}
