import { schemaDocuments } from "./schemas/index.ts";
import { ENTERPRISE_USER_SCHEMA, USER_SCHEMA } from "./userInput.ts";
import { GROUP_SCHEMA } from "./presenters/scimGroup.ts";

const LIST_RESPONSE = "urn:ietf:params:scim:api:messages:2.0:ListResponse";

/** The Bulk limits (RFC 7644 §3.7.4) as configured and enforced: operations per request, body bytes. */
export type BulkLimits = { maxOperations: number; maxPayloadSize: number };

/** RFC 7643 §5: what this server really supports (no password change). */
export function serviceProviderConfig(scimBase: string, maxResults: number, cursorTimeoutSeconds: number, bulkLimits: BulkLimits) {
  return {
    schemas: ["urn:ietf:params:scim:schemas:core:2.0:ServiceProviderConfig"],
    documentationUri: "https://github.com/rollcall/rollcall#scim",
    patch: { supported: true },
    bulk: { supported: true, maxOperations: bulkLimits.maxOperations, maxPayloadSize: bulkLimits.maxPayloadSize },
    filter: { supported: true, maxResults },
    changePassword: { supported: false },
    sort: { supported: true },
    etag: { supported: true },
    // RFC 9865 §4: both methods; index stays the default so existing clients see no change
    // (§2.4). Cursor pages carry previousCursor too (the RFC has no field to advertise it).
    pagination: {
      cursor: true,
      index: true,
      defaultPaginationMethod: "index",
      defaultPageSize: maxResults,
      maxPageSize: maxResults,
      cursorTimeout: cursorTimeoutSeconds,
    },
    authenticationSchemes: [
      {
        type: "oauthbearertoken",
        name: "OAuth Bearer Token",
        description: "Authentication with the organization's SCIM bearer token (Authorization: Bearer scim_…).",
        primary: true,
      },
    ],
    meta: { resourceType: "ServiceProviderConfig", location: `${scimBase}/ServiceProviderConfig` },
  };
}

/** RFC 7643 §6 resource types: User (with the enterprise extension) and Group. */
export function resourceTypes(scimBase: string) {
  return [
    {
      schemas: ["urn:ietf:params:scim:schemas:core:2.0:ResourceType"],
      id: "User",
      name: "User",
      endpoint: "/Users",
      description: "User Account",
      schema: USER_SCHEMA,
      schemaExtensions: [{ schema: ENTERPRISE_USER_SCHEMA, required: false }],
      meta: { resourceType: "ResourceType", location: `${scimBase}/ResourceTypes/User` },
    },
    {
      schemas: ["urn:ietf:params:scim:schemas:core:2.0:ResourceType"],
      id: "Group",
      name: "Group",
      endpoint: "/Groups",
      description: "Group (a team in the application)",
      schema: GROUP_SCHEMA,
      meta: { resourceType: "ResourceType", location: `${scimBase}/ResourceTypes/Group` },
    },
  ];
}

/** The /Schemas documents. */
export function schemas(scimBase: string) {
  return schemaDocuments(scimBase);
}

/** Wraps resources in a ListResponse (RFC 7644 §3.4.2). */
export function listResponse(resources: unknown[], totalResults: number, startIndex: number, includeResources = true) {
  return {
    schemas: [LIST_RESPONSE],
    totalResults,
    startIndex,
    itemsPerPage: resources.length,
    ...(includeResources ? { Resources: resources } : {}),
  };
}

/**
 * A ListResponse page of a cursor walk (RFC 9865 §2): no startIndex (there is no index),
 * nextCursor on every page but the last, previousCursor on every page but the first.
 * totalResults counts every match, not the ones left.
 */
export function cursorListResponse(
  resources: unknown[],
  totalResults: number,
  cursors: { nextCursor: string | undefined; previousCursor: string | undefined },
  includeResources = true,
) {
  return {
    schemas: [LIST_RESPONSE],
    totalResults,
    itemsPerPage: resources.length,
    ...(cursors.previousCursor === undefined ? {} : { previousCursor: cursors.previousCursor }),
    ...(cursors.nextCursor === undefined ? {} : { nextCursor: cursors.nextCursor }),
    ...(includeResources ? { Resources: resources } : {}),
  };
}
