import type { AttributeDefinition, AttributeType } from "./types.ts";

type Characteristics = Partial<Omit<AttributeDefinition, "name" | "type" | "description" | "subAttributes">>;

/**
 * Defaults follow RFC 7643 §2.2 (not required, not caseExact, readWrite, returned by default,
 * no uniqueness), so each definition only spells out where it differs from them.
 */
export function attribute(
  name: string,
  type: AttributeType,
  description: string,
  characteristics: Characteristics = {},
): AttributeDefinition {
  return {
    name,
    type,
    multiValued: false,
    description,
    required: false,
    caseExact: false,
    mutability: "readWrite",
    returned: "default",
    uniqueness: "none",
    ...characteristics,
  };
}

/** A complex attribute with its sub-attributes. */
export function complex(
  name: string,
  description: string,
  subAttributes: readonly AttributeDefinition[],
  characteristics: Characteristics = {},
): AttributeDefinition {
  return { ...attribute(name, "complex", description, characteristics), subAttributes };
}

/** The usual value/display/type/primary sub-attributes of a multi-valued attribute (RFC 7643 §2.4). */
export function multiValuedSubAttributes(
  valueDescription: string,
  options: {
    valueType?: AttributeType;
    referenceTypes?: readonly string[];
    types?: readonly string[];
    mutability?: AttributeDefinition["mutability"];
  } = {},
): AttributeDefinition[] {
  const mutability = options.mutability ?? "readWrite";
  const valueType = options.valueType ?? "string";
  return [
    attribute("value", valueType, valueDescription, {
      mutability,
      ...(options.referenceTypes ? { referenceTypes: options.referenceTypes } : {}),
      ...(valueType === "reference" || valueType === "binary" ? { caseExact: true } : {}),
    }),
    attribute("display", "string", "A human-readable name, primarily used for display purposes.", { mutability }),
    attribute("type", "string", "A label indicating the attribute's function.", {
      mutability,
      ...(options.types ? { canonicalValues: options.types } : {}),
    }),
    attribute("primary", "boolean", "Indicates the preferred value of the attribute; at most one value is primary.", {
      mutability,
    }),
  ];
}
