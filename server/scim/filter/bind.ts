import { InvalidFilterError } from "../../errors.ts";
import { findAttribute } from "../schemas/registry.ts";
import { resolveAttribute, type ResolvedAttribute } from "../schemas/resolve.ts";
import type { AttributeDefinition, ResourceType } from "../schemas/types.ts";
import { parseDateTime, type ParsedDateTime } from "./dateTime.ts";
import type { ComparisonOperator, CompValue } from "./types.ts";

/** Where an attribute path in a filter is resolved: a resource type, and the attribute of an enclosing `attr[…]`. */
export interface AttributeScope {
  readonly resourceType: ResourceType | undefined;
  readonly parent: ResolvedAttribute | undefined;
}

/** A comparison value after checking it against the attribute's type. */
export type BoundValue =
  | { readonly kind: "null" }
  | { readonly kind: "string"; readonly value: string }
  | { readonly kind: "boolean"; readonly value: boolean }
  | { readonly kind: "number"; readonly value: number }
  | { readonly kind: "dateTime"; readonly value: ParsedDateTime };

/** A comparison whose attribute and value have been checked. */
export interface BoundComparison {
  readonly attribute: ResolvedAttribute;
  /** What each value is compared as: the sub-attribute, or `value` when `emails co "x"` implies it. */
  readonly compared: AttributeDefinition;
  /** The sub-attribute compared inside each element of a complex attribute, if any. */
  readonly subAttribute: AttributeDefinition | undefined;
  readonly value: BoundValue;
}

/** A sub-attribute of the attribute that encloses a value filter. */
function resolveInParent(parent: ResolvedAttribute, path: string): ResolvedAttribute | undefined {
  const sub = findAttribute(parent.attribute.subAttributes, path.trim());
  if (!sub) return undefined;
  return { extension: parent.extension, attribute: parent.attribute, subAttribute: sub, definition: sub, path: `${parent.path}.${sub.name}` };
}

/** Resolves an attribute path in scope; undefined when it names nothing. */
export function lookupAttribute(scope: AttributeScope, path: string): ResolvedAttribute | undefined {
  if (scope.parent) return resolveInParent(scope.parent, path);
  if (scope.resourceType) return resolveAttribute(scope.resourceType, path);
  return resolveAttribute("User", path) ?? resolveAttribute("Group", path);
}

/** Resolves an attribute path in scope or throws invalidFilter naming it. */
export function bindAttribute(scope: AttributeScope, path: string): ResolvedAttribute {
  const resolved = lookupAttribute(scope, path);
  if (!resolved) {
    const where = scope.parent ? ` within ${scope.parent.path}` : scope.resourceType ? ` on ${scope.resourceType}` : "";
    throw new InvalidFilterError(`Unknown attribute "${path}" in filter${where}.`);
  }
  if (resolved.definition.returned === "never" || resolved.attribute.returned === "never") {
    throw new InvalidFilterError(`Attribute "${resolved.path}" cannot be used in a filter.`);
  }
  return resolved;
}

/** Checks the attribute of a value path (`emails[…]`): it must be a complex attribute named without a sub-attribute. */
export function bindValuePath(scope: AttributeScope, path: string): ResolvedAttribute {
  if (scope.parent) throw new InvalidFilterError(`Value filters cannot be nested (inside ${scope.parent.path}).`);
  const resolved = bindAttribute(scope, path);
  if (resolved.subAttribute || resolved.attribute.type !== "complex") {
    throw new InvalidFilterError(`"${path}[…]" needs a complex attribute; ${resolved.path} is not one.`);
  }
  return resolved;
}

const ORDERING: ReadonlySet<ComparisonOperator> = new Set(["gt", "ge", "lt", "le"]);
const SUBSTRING: ReadonlySet<ComparisonOperator> = new Set(["co", "sw", "ew"]);

function fail(path: string, problem: string): never {
  throw new InvalidFilterError(`Invalid filter on ${path}: ${problem}.`);
}

function bindValue(path: string, definition: AttributeDefinition, op: ComparisonOperator, raw: CompValue): BoundValue {
  if (raw === null) {
    if (op !== "eq" && op !== "ne") fail(path, `"${op}" cannot compare with null`);
    return { kind: "null" };
  }
  switch (definition.type) {
    case "boolean": {
      if (op !== "eq" && op !== "ne") fail(path, `"${op}" is not defined for a boolean attribute`);
      // Entra sends "True"/"False" for booleans; accept them in filters too.
      const lower = typeof raw === "string" ? raw.trim().toLowerCase() : undefined;
      if (typeof raw === "boolean") return { kind: "boolean", value: raw };
      if (lower === "true" || lower === "false") return { kind: "boolean", value: lower === "true" };
      return fail(path, "expected true or false");
    }
    case "dateTime": {
      if (SUBSTRING.has(op)) fail(path, `"${op}" is not defined for a dateTime attribute`);
      const parsed = typeof raw === "string" ? parseDateTime(raw) : undefined;
      if (!parsed) fail(path, `${JSON.stringify(raw)} is not a dateTime such as "2011-05-13T04:42:34Z"`);
      return { kind: "dateTime", value: parsed };
    }
    case "integer":
    case "decimal": {
      if (SUBSTRING.has(op)) fail(path, `"${op}" is not defined for a number`);
      if (typeof raw !== "number") fail(path, "expected a number");
      return { kind: "number", value: raw };
    }
    case "complex":
      return fail(path, `"${op}" needs a sub-attribute of the complex attribute`);
    case "binary":
      if (ORDERING.has(op)) fail(path, `"${op}" is not defined for a binary attribute`);
      if (typeof raw !== "string") fail(path, "expected a string");
      return { kind: "string", value: raw };
    case "string":
    case "reference":
      if (typeof raw === "boolean") fail(path, "expected a string, not a boolean");
      // A bare number against a string (externalId eq 12345) means its decimal text.
      return { kind: "string", value: typeof raw === "number" ? String(raw) : raw };
  }
}

/** Checks a comparison (`attr op value`) against the schema and normalizes its value; throws invalidFilter. */
export function bindComparison(scope: AttributeScope, path: string, op: ComparisonOperator, raw: CompValue): BoundComparison {
  const attribute = bindAttribute(scope, path);
  let subAttribute = attribute.subAttribute;
  if (!subAttribute && attribute.attribute.type === "complex") {
    // RFC 7644 §3.4.2.2: `emails co "x"` compares the value sub-attribute of each email.
    subAttribute = attribute.attribute.multiValued ? findAttribute(attribute.attribute.subAttributes, "value") : undefined;
    if (!subAttribute) fail(attribute.path, `a complex attribute supports only "pr"; name a sub-attribute`);
  }
  const compared = subAttribute ?? attribute.attribute;
  return { attribute, compared, subAttribute, value: bindValue(attribute.path, compared, op, raw) };
}
