import { isDeepStrictEqual } from "node:util";
import { ValidationError } from "../../errors.ts";
import { parseDateTime } from "../filter/dateTime.ts";
import type { FilterNode } from "../filter/types.ts";
import { coerceBoolean } from "../schemas/canonicalize.ts";
import { findAttribute } from "../schemas/registry.ts";
import { isJsonObject, type AttributeDefinition, type JsonObject } from "../schemas/types.ts";

function invalid(path: string, expected: string): never {
  throw new ValidationError(`${path} must be ${expected}.`, { field: path }, "invalidValue");
}

/** Checks and normalizes a simple value: boolean strings become booleans, numbers for strings become text. */
export function normalizeScalar(definition: AttributeDefinition, value: unknown, path: string): unknown {
  switch (definition.type) {
    case "boolean": {
      const coerced = coerceBoolean(value);
      return typeof coerced === "boolean" ? coerced : invalid(path, "a boolean");
    }
    case "string":
    case "reference":
    case "binary":
      // employeeNumber and costCenter arrive as JSON numbers from some directories.
      if (typeof value === "number" && Number.isFinite(value)) return String(value);
      return typeof value === "string" ? value : invalid(path, "a string");
    case "dateTime":
      return typeof value === "string" && parseDateTime(value) ? value : invalid(path, "a dateTime such as 2011-05-13T04:42:34Z");
    case "integer":
      return Number.isInteger(value) ? value : invalid(path, "an integer");
    case "decimal":
      return typeof value === "number" && Number.isFinite(value) ? value : invalid(path, "a number");
    case "complex":
      return normalizeComplex(definition, value, path);
  }
}

/**
 * Checks and normalizes one complex value. A bare string becomes `{value}` where the attribute
 * has a value sub-attribute: Entra sends the enterprise manager as the manager's id alone.
 * Null sub-attributes mean unassigned (RFC 7643 §2.5) and are dropped; unknown ones are kept.
 */
export function normalizeComplex(definition: AttributeDefinition, value: unknown, path: string): JsonObject {
  const valueSub = findAttribute(definition.subAttributes, "value");
  const object = typeof value === "string" && valueSub ? { value } : value;
  if (!isJsonObject(object)) return invalid(path, "an object");
  const out: JsonObject = {};
  for (const [key, inner] of Object.entries(object)) {
    const sub = findAttribute(definition.subAttributes, key);
    if (!sub) out[key] = inner;
    else if (inner !== null && inner !== undefined) out[sub.name] = normalizeScalar(sub, inner, `${path}.${sub.name}`);
  }
  return out;
}

/** Normalizes a value for an attribute; a multi-valued attribute always yields an array. */
export function normalizeValue(definition: AttributeDefinition, value: unknown, path: string): unknown {
  if (!definition.multiValued) return normalizeScalar(definition, value, path);
  const list = Array.isArray(value) ? value : [value];
  return list
    .filter((element) => element !== null)
    .map((element, index) => normalizeScalar({ ...definition, multiValued: false }, element, `${path}[${index}]`));
}

function sameText(a: unknown, b: unknown, caseExact: boolean): boolean {
  if (typeof a === "string" && typeof b === "string") return caseExact ? a === b : a.toLowerCase() === b.toLowerCase();
  return isDeepStrictEqual(a, b);
}

/**
 * Whether two values of a multi-valued attribute are the same value: equal `value` (and equal
 * `type` when both have one, so a work and a home address with the same text stay apart), else deep equality.
 */
export function sameElement(definition: AttributeDefinition, a: unknown, b: unknown): boolean {
  const valueSub = findAttribute(definition.subAttributes, "value");
  if (valueSub && isJsonObject(a) && isJsonObject(b) && a.value !== undefined && b.value !== undefined) {
    if (!sameText(a.value, b.value, valueSub.caseExact)) return false;
    return typeof a.type !== "string" || typeof b.type !== "string" || a.type.toLowerCase() === b.type.toLowerCase();
  }
  return isDeepStrictEqual(a, b);
}

/** RFC 7643 §2.4: at most one value is primary; the one just written wins over older ones. */
export function keepOnePrimary(elements: unknown[], written: ReadonlySet<unknown>): unknown[] {
  const winner = [...elements].reverse().find((element) => written.has(element) && isJsonObject(element) && element.primary === true);
  if (!winner) return elements;
  return elements.map((element) =>
    element !== winner && isJsonObject(element) && element.primary === true ? { ...element, primary: false } : element,
  );
}

/**
 * The element a value filter describes, when it is a conjunction of `eq` tests
 * (`type eq "work"` → `{type: "work"}`): Entra expects a replace through a filter that matches
 * nothing to create that element. Undefined when the filter does not describe one.
 */
export function elementFromFilter(definition: AttributeDefinition, filter: FilterNode): JsonObject | undefined {
  if (filter.op === "and") {
    const parts = filter.filters.map((part) => elementFromFilter(definition, part));
    if (parts.some((part) => part === undefined)) return undefined;
    return Object.assign({}, ...parts) as JsonObject;
  }
  if (filter.op !== "eq" || filter.compValue === null) return undefined;
  const sub = findAttribute(definition.subAttributes, filter.attrPath);
  if (!sub) return undefined;
  return { [sub.name]: normalizeScalar(sub, filter.compValue, `${definition.name}.${sub.name}`) };
}
