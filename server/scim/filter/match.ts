import { coerceBoolean } from "../schemas/canonicalize.ts";
import { resolveAttribute, type ResolvedAttribute } from "../schemas/resolve.ts";
import { isJsonObject, type ResourceType } from "../schemas/types.ts";
import { bindComparison, lookupAttribute, type BoundValue } from "./bind.ts";
import { parseDateTime } from "./dateTime.ts";
import type { ComparisonOperator, CompareNode, FilterNode } from "./types.ts";

interface MatchScope {
  readonly resourceType: ResourceType | undefined;
  readonly parent: ResolvedAttribute | undefined;
  /** True while evaluating a value filter against one element. */
  readonly inElement: boolean;
}

/** The values a path designates in an object: the attribute's own value and the leaves compared. */
interface Located {
  readonly top: unknown;
  readonly leaves: unknown[];
  readonly resolved: ResolvedAttribute | undefined;
}

/** Reads a key case-insensitively (RFC 7643 §2.1), preferring an exact match. */
function childOf(container: unknown, name: string): unknown {
  if (!isJsonObject(container)) return undefined;
  if (Object.hasOwn(container, name)) return container[name];
  const wanted = name.toLowerCase();
  for (const [key, value] of Object.entries(container)) if (key.toLowerCase() === wanted) return value;
  return undefined;
}

function asList(value: unknown): unknown[] {
  if (value === undefined) return [];
  return Array.isArray(value) ? value : [value];
}

function locateGeneric(object: unknown, path: string): Located {
  let container = object;
  let rest = path;
  const colon = path.lastIndexOf(":");
  if (path.toLowerCase().startsWith("urn:") && colon > 0) {
    container = childOf(object, path.slice(0, colon));
    rest = path.slice(colon + 1);
  }
  const [first = "", ...more] = rest.split(".");
  const top = childOf(container, first);
  let leaves = asList(top);
  for (const segment of more) leaves = leaves.flatMap((value) => asList(childOf(value, segment)));
  return { top, leaves, resolved: undefined };
}

/**
 * The schema definition of a path, when there is one. Inside an element of an attribute the
 * schema does not know, top-level names must not be consulted (`displayName` is not a member's).
 */
function schemaLookup(scope: MatchScope, path: string): ResolvedAttribute | undefined {
  if (scope.parent) return lookupAttribute(scope, path);
  if (scope.resourceType && !scope.inElement) return lookupAttribute(scope, path);
  return undefined;
}

function locate(object: unknown, scope: MatchScope, path: string, impliedValue: boolean): Located {
  const resolved = schemaLookup(scope, path);
  if (!resolved) return locateGeneric(object, path);
  if (scope.parent) {
    const top = childOf(object, resolved.definition.name);
    return { top, leaves: asList(top), resolved };
  }
  const container = resolved.extension ? childOf(object, resolved.extension) : object;
  const top = childOf(container, resolved.attribute.name);
  const subName = resolved.subAttribute?.name ?? (impliedValue ? "value" : undefined);
  const leaves = subName ? asList(top).flatMap((element) => asList(childOf(element, subName))) : asList(top);
  return { top, leaves, resolved };
}

/** Present per RFC 7644 §3.4.2.2 "pr": not null, not empty string, not an empty array or object. */
function present(value: unknown): boolean {
  if (value === undefined || value === null || value === "") return false;
  if (Array.isArray(value)) return value.some(present);
  if (isJsonObject(value)) return Object.keys(value).length > 0;
  return true;
}

function compareOrdered<T extends number | string>(actual: T, expected: T, op: ComparisonOperator): boolean {
  switch (op) {
    case "eq": return actual === expected;
    case "gt": return actual > expected;
    case "ge": return actual >= expected;
    case "lt": return actual < expected;
    case "le": return actual <= expected;
    default: return false;
  }
}

function compareStrings(actual: string, expected: string, op: ComparisonOperator, caseExact: boolean): boolean {
  const a = caseExact ? actual : actual.toLowerCase();
  const e = caseExact ? expected : expected.toLowerCase();
  if (op === "co") return a.includes(e);
  if (op === "sw") return a.startsWith(e);
  if (op === "ew") return a.endsWith(e);
  return compareOrdered(a, e, op);
}

/** One value against one comparison (never "ne": that is the negation of "eq" over all values). */
function compareOne(actual: unknown, op: ComparisonOperator, expected: BoundValue, caseExact: boolean, knownType: boolean): boolean {
  switch (expected.kind) {
    case "null":
      return false;
    case "boolean":
      return op === "eq" && coerceBoolean(actual) === expected.value;
    case "number":
      return typeof actual === "number" && compareOrdered(actual, expected.value, op);
    case "dateTime": {
      const parsed = typeof actual === "string" ? parseDateTime(actual) : undefined;
      return parsed !== undefined && compareOrdered(parsed.instant, expected.value.instant, op);
    }
    case "string": {
      if (typeof actual === "boolean" && !knownType) {
        const wanted = coerceBoolean(expected.value);
        return op === "eq" && typeof wanted === "boolean" && wanted === actual;
      }
      if (typeof actual !== "string" && typeof actual !== "number") return false;
      const text = String(actual);
      // Without a schema, two dateTimes are still compared as instants rather than as text.
      if (!knownType && op !== "co" && op !== "sw" && op !== "ew") {
        const left = parseDateTime(text);
        const right = parseDateTime(expected.value);
        if (left && right) return compareOrdered(left.instant, right.instant, op);
      }
      return compareStrings(text, expected.value, op, caseExact);
    }
  }
}

function genericValue(raw: CompareNode["compValue"]): BoundValue {
  if (raw === null) return { kind: "null" };
  if (typeof raw === "boolean") return { kind: "boolean", value: raw };
  if (typeof raw === "number") return { kind: "number", value: raw };
  return { kind: "string", value: raw };
}

function matchComparison(node: CompareNode, object: unknown, scope: MatchScope): boolean {
  const known = schemaLookup(scope, node.attrPath);
  const bound = known ? bindComparison(scope, node.attrPath, node.op, node.compValue) : undefined;
  const implied = bound !== undefined && bound.subAttribute !== undefined && known?.subAttribute === undefined;
  const located = locate(object, scope, node.attrPath, implied);
  const value = bound?.value ?? genericValue(node.compValue);
  const caseExact = bound?.compared.caseExact ?? false;
  if (value.kind === "null") {
    // The compared values (a sub-attribute's, not its parent's: `name.familyName eq null` holds when name has no familyName).
    const isPresent = present(located.leaves);
    return node.op === "eq" ? !isPresent : isPresent;
  }
  const equal = (leaf: unknown) => compareOne(leaf, "eq", value, caseExact, bound !== undefined);
  if (node.op !== "ne") return located.leaves.some((leaf) => compareOne(leaf, node.op, value, caseExact, bound !== undefined));
  // RFC 7644 §3.4.2.2: a multi-valued attribute matches when any value matches, so "ne" holds
  // when some value differs (one lacking the compared sub-attribute differs); a single value
  // differs when it is not equal, or absent.
  const multiValued = located.resolved?.attribute.multiValued === true && !scope.parent;
  if (!multiValued) return !located.leaves.some(equal);
  const subName = located.resolved?.subAttribute?.name ?? (implied ? "value" : undefined);
  const values = asList(located.top).map((element) => (subName ? childOf(element, subName) : element));
  return values.some((leaf) => !equal(leaf));
}

function evaluate(node: FilterNode, object: unknown, scope: MatchScope): boolean {
  switch (node.op) {
    case "and":
      return node.filters.every((child) => evaluate(child, object, scope));
    case "or":
      return node.filters.some((child) => evaluate(child, object, scope));
    case "not":
      return !evaluate(node.filter, object, scope);
    case "pr": {
      const located = locate(object, scope, node.attrPath, false);
      return located.resolved?.subAttribute && !scope.parent ? present(located.leaves) : present(located.top);
    }
    case "[]": {
      const located = locate(object, scope, node.attrPath, false);
      const elementScope: MatchScope = { resourceType: scope.resourceType, parent: located.resolved, inElement: true };
      return asList(located.top).some((element) => isJsonObject(element) && evaluate(node.valFilter, element, elementScope));
    }
    default:
      return matchComparison(node, object, scope);
  }
}

/**
 * Evaluates a filter against a JSON object in memory (PATCH value paths, conformance checks).
 * Attribute names match case-insensitively; strings compare case-insensitively unless the
 * attribute is caseExact; a multi-valued attribute matches when any value does ("ne" too: when
 * some value differs); a value filter applies only to existing values of its attribute. Pass `parentAttribute` (e.g. "emails") when `object` is one element of it.
 */
export function matchesFilter(node: FilterNode, object: unknown, resourceType?: ResourceType, parentAttribute?: string): boolean {
  const parent = resourceType && parentAttribute ? resolveAttribute(resourceType, parentAttribute) : undefined;
  return evaluate(node, object, { resourceType, parent, inElement: parentAttribute !== undefined });
}
