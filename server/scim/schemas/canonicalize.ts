import { findAttribute, findExtensionSchema } from "./registry.ts";
import { resolveAttribute } from "./resolve.ts";
import { isJsonObject, type AttributeDefinition, type JsonObject, type ResourceType } from "./types.ts";

/**
 * Entra sends booleans as "True"/"False" strings; anything else is left alone so validation can
 * report it rather than guessing.
 */
export function coerceBoolean(value: unknown): unknown {
  if (typeof value !== "string") return value;
  const lower = value.trim().toLowerCase();
  if (lower === "true") return true;
  if (lower === "false") return false;
  return value;
}

/** Renames the keys of a complex value to their canonical case, coercing boolean strings. */
function canonicalizeComplex(definition: AttributeDefinition, value: JsonObject): JsonObject {
  const out: JsonObject = {};
  for (const [key, inner] of Object.entries(value)) {
    const sub = findAttribute(definition.subAttributes, key);
    if (!sub) {
      out[key] = inner;
    } else {
      out[sub.name] = sub.type === "boolean" ? coerceBoolean(inner) : inner;
    }
  }
  return out;
}

function canonicalizeSingle(definition: AttributeDefinition, value: unknown): unknown {
  if (definition.type === "complex") return isJsonObject(value) ? canonicalizeComplex(definition, value) : value;
  if (definition.type === "boolean") return coerceBoolean(value);
  return value;
}

/**
 * Canonicalizes one attribute's value (each element of a multi-valued one). A multi-valued
 * attribute is always an array (RFC 7643 §2.4), so a lone value some IdPs send (`"emails": {…}`)
 * becomes a list of one; null stays null (unassigned).
 */
export function canonicalizeAttributeValue(definition: AttributeDefinition, value: unknown): unknown {
  if (definition.multiValued && value !== null && value !== undefined) {
    const list = Array.isArray(value) ? value : [value];
    return list.map((element) => canonicalizeSingle(definition, element));
  }
  return canonicalizeSingle(definition, value);
}

function extensionObject(out: JsonObject, urn: string): JsonObject {
  const existing = out[urn];
  if (isJsonObject(existing)) return existing;
  const created: JsonObject = {};
  out[urn] = created;
  return created;
}

/**
 * A copy of a SCIM resource with every known attribute in its canonical case, extension
 * attributes (nested or flattened `URN:attr` keys) under the full URN key, and boolean strings
 * coerced. Unknown attributes are kept as they came, so nothing an IdP sent is lost.
 */
export function canonicalizeResource(resourceType: ResourceType, json: JsonObject): JsonObject {
  const out: JsonObject = {};
  for (const [key, value] of Object.entries(json)) {
    const extension = findExtensionSchema(resourceType, key);
    if (extension) {
      if (!isJsonObject(value)) {
        out[extension.id] = value;
        continue;
      }
      const target = extensionObject(out, extension.id);
      for (const [innerKey, innerValue] of Object.entries(value)) {
        const definition = findAttribute(extension.attributes, innerKey);
        if (definition) target[definition.name] = canonicalizeAttributeValue(definition, innerValue);
        else target[innerKey] = innerValue;
      }
      continue;
    }
    const resolved = resolveAttribute(resourceType, key);
    if (!resolved || resolved.subAttribute) {
      out[key] = value;
    } else if (resolved.extension) {
      extensionObject(out, resolved.extension)[resolved.attribute.name] = canonicalizeAttributeValue(resolved.attribute, value);
    } else {
      out[resolved.attribute.name] = canonicalizeAttributeValue(resolved.attribute, value);
    }
  }
  return out;
}
