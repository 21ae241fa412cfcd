import { attribute, complex } from "./build.ts";
import type { SchemaDefinition } from "./types.ts";

export const GROUP_SCHEMA_URN = "urn:ietf:params:scim:schemas:core:2.0:Group";

/** The core Group schema (RFC 7643 §4.2); `display` on members is accepted as IdPs send it. */
export const groupSchema: SchemaDefinition = {
  id: GROUP_SCHEMA_URN,
  name: "Group",
  description: "Group",
  attributes: [
    attribute("displayName", "string", "A human-readable name for the Group.", { required: true }),
    complex("members", "A list of members of the Group.", [
      attribute("value", "string", "Identifier of the member of this Group.", { mutability: "immutable", caseExact: true }),
      attribute("$ref", "reference", "The URI corresponding to a SCIM resource that is a member of this Group.", {
        mutability: "immutable",
        referenceTypes: ["User", "Group"],
        caseExact: true,
      }),
      attribute("display", "string", "A human-readable name, primarily used for display purposes.", { mutability: "immutable" }),
      attribute("type", "string", "A label indicating the type of resource, e.g. 'User' or 'Group'.", {
        mutability: "immutable",
        canonicalValues: ["User", "Group"],
      }),
    ], { multiValued: true }),
  ],
};
