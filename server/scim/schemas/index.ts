export type {
  AttributeDefinition,
  AttributeType,
  JsonObject,
  Mutability,
  ResourceType,
  Returned,
  SchemaDefinition,
  Uniqueness,
} from "./types.ts";
export { isJsonObject } from "./types.ts";
export { USER_SCHEMA_URN, userSchema } from "./user.ts";
export { ENTERPRISE_USER_SCHEMA_URN, enterpriseUserSchema } from "./enterpriseUser.ts";
export { GROUP_SCHEMA_URN, groupSchema } from "./group.ts";
export { commonAttributes } from "./common.ts";
export { allSchemas, coreSchemaFor, extensionSchemasFor, findAttribute, findExtensionSchema } from "./registry.ts";
export { resolveAttribute, type ResolvedAttribute } from "./resolve.ts";
export { canonicalizeAttributeValue, canonicalizeResource, coerceBoolean } from "./canonicalize.ts";
export { SCHEMA_SCHEMA_URN, schemaDocument, schemaDocuments } from "./documents.ts";
