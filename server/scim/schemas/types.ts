/**
 * Types shared by the SCIM schema definitions (RFC 7643 §2.2 and §7) and the modules that
 * interpret SCIM JSON: filters, PATCH and the presenters.
 */

/**
 * A JSON object as parsed from a request or read from a jsonb column. Values stay `unknown`
 * because they come off the wire; code narrows them where it reads them.
 */
export type JsonObject = Record<string, unknown>;

/** The resource types Rollcall serves. */
export type ResourceType = "User" | "Group";

/** RFC 7643 §2.3 data types. `binary` is only used by x509Certificates.value. */
export type AttributeType =
  | "string"
  | "boolean"
  | "decimal"
  | "integer"
  | "dateTime"
  | "reference"
  | "complex"
  | "binary";

export type Mutability = "readOnly" | "readWrite" | "immutable" | "writeOnly";
export type Returned = "always" | "never" | "default" | "request";
export type Uniqueness = "none" | "server" | "global";

/** One attribute definition, with the characteristics RFC 7643 §7 publishes. */
export interface AttributeDefinition {
  readonly name: string;
  readonly type: AttributeType;
  readonly multiValued: boolean;
  readonly description: string;
  readonly required: boolean;
  readonly caseExact: boolean;
  readonly mutability: Mutability;
  readonly returned: Returned;
  readonly uniqueness: Uniqueness;
  readonly canonicalValues?: readonly string[];
  readonly referenceTypes?: readonly string[];
  readonly subAttributes?: readonly AttributeDefinition[];
}

/** A schema: its URN id, a short name and its top-level attributes. */
export interface SchemaDefinition {
  readonly id: string;
  readonly name: string;
  readonly description: string;
  readonly attributes: readonly AttributeDefinition[];
}

/** Whether a value is a plain JSON object (not an array, not null). */
export function isJsonObject(value: unknown): value is JsonObject {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}
