import { commonAttributes } from "./common.ts";
import { enterpriseUserSchema } from "./enterpriseUser.ts";
import { groupSchema } from "./group.ts";
import type { AttributeDefinition, ResourceType, SchemaDefinition } from "./types.ts";
import { userSchema } from "./user.ts";

const coreSchemas: Record<ResourceType, SchemaDefinition> = { User: userSchema, Group: groupSchema };
const extensionSchemas: Record<ResourceType, readonly SchemaDefinition[]> = {
  User: [enterpriseUserSchema],
  Group: [],
};

/** The core schema of a resource type. */
export function coreSchemaFor(resourceType: ResourceType): SchemaDefinition {
  return coreSchemas[resourceType];
}

/** The extension schemas a resource type accepts (RFC 7643 §6 schemaExtensions). */
export function extensionSchemasFor(resourceType: ResourceType): readonly SchemaDefinition[] {
  return extensionSchemas[resourceType];
}

/** Every schema Rollcall publishes under `/Schemas`. */
export function allSchemas(): readonly SchemaDefinition[] {
  return [userSchema, enterpriseUserSchema, groupSchema];
}

/** The extension schema whose URN equals `urn` ignoring case, if the resource type has one. */
export function findExtensionSchema(resourceType: ResourceType, urn: string): SchemaDefinition | undefined {
  const wanted = urn.toLowerCase();
  return extensionSchemas[resourceType].find((schema) => schema.id.toLowerCase() === wanted);
}

/** Case-insensitive lookup of an attribute among definitions (RFC 7643 §2.1: names are case-insensitive). */
export function findAttribute(
  definitions: readonly AttributeDefinition[] | undefined,
  name: string,
): AttributeDefinition | undefined {
  if (!definitions) return undefined;
  const wanted = name.toLowerCase();
  return definitions.find((definition) => definition.name.toLowerCase() === wanted);
}

/** Top-level attributes addressable without a URN: the core schema's plus the common ones. */
export function coreAttributesFor(resourceType: ResourceType): readonly AttributeDefinition[] {
  return [...coreSchemas[resourceType].attributes, ...commonAttributes];
}
