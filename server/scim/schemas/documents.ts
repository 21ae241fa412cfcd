import { allSchemas } from "./registry.ts";
import type { AttributeDefinition, JsonObject, SchemaDefinition } from "./types.ts";

export const SCHEMA_SCHEMA_URN = "urn:ietf:params:scim:schemas:core:2.0:Schema";

function attributeDocument(definition: AttributeDefinition): JsonObject {
  const document: JsonObject = {
    name: definition.name,
    type: definition.type,
    multiValued: definition.multiValued,
    description: definition.description,
    required: definition.required,
    caseExact: definition.caseExact,
    mutability: definition.mutability,
    returned: definition.returned,
    uniqueness: definition.uniqueness,
  };
  if (definition.canonicalValues) document.canonicalValues = [...definition.canonicalValues];
  if (definition.referenceTypes) document.referenceTypes = [...definition.referenceTypes];
  if (definition.subAttributes) document.subAttributes = definition.subAttributes.map(attributeDocument);
  return document;
}

/** One schema as the RFC 7643 §7 resource served at `/Schemas/{id}`. */
export function schemaDocument(baseUrl: string, schema: SchemaDefinition): JsonObject {
  const base = baseUrl.replace(/\/+$/, "");
  return {
    schemas: [SCHEMA_SCHEMA_URN],
    id: schema.id,
    name: schema.name,
    description: schema.description,
    attributes: schema.attributes.map(attributeDocument),
    meta: { resourceType: "Schema", location: `${base}/Schemas/${schema.id}` },
  };
}

/** The `/Schemas` resources (User, EnterpriseUser, Group) with locations under `baseUrl` (the SCIM base, e.g. `…/scim/v2`). */
export function schemaDocuments(baseUrl: string): JsonObject[] {
  return allSchemas().map((schema) => schemaDocument(baseUrl, schema));
}
