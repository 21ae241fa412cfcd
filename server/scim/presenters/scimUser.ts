import type { MembershipRow, UserRow } from "../../models/rows.ts";
import { USER_SCHEMA } from "../userInput.ts";

import { etagOf } from "../../domain/etag.ts";

export { etagOf };

/** A user as a SCIM User resource: the stored resource plus server-owned attributes. */
export function presentScimUser(row: UserRow, memberships: MembershipRow[] | null, baseUrl: string): Record<string, unknown> {
  const { schemas, userName: _u, externalId: _e, active: _a, groups: _g, id: _i, meta: _m, ...rest } = row.scim_resource;
  void _u; void _e; void _a; void _g; void _i; void _m;
  const resource: Record<string, unknown> = {
    schemas: Array.isArray(schemas) && schemas.length > 0 ? schemas : [USER_SCHEMA],
    id: row.id,
    ...(row.external_id !== null ? { externalId: row.external_id } : {}),
    userName: row.user_name,
    ...rest,
    active: row.active,
  };
  if (memberships && memberships.length > 0) {
    resource.groups = memberships.map((m) => ({
      value: m.team_id,
      display: m.display_name,
      $ref: `${baseUrl}/scim/v2/Groups/${m.team_id}`,
      type: "direct",
    }));
  }
  resource.meta = {
    resourceType: "User",
    created: row.created_at.toISOString(),
    lastModified: row.updated_at.toISOString(),
    location: `${baseUrl}/scim/v2/Users/${row.id}`,
    version: etagOf(row.version),
  };
  return resource;
}
