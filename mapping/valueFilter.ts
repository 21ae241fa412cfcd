import { parse, type Filter } from "scim2-parse-filter";
import { attributeGetter, isRecord, type AttributeGetter } from "./attributes.ts";

/** Decides whether one element of a multi-valued attribute matches a value filter. */
export type ElementPredicate = (element: unknown) => boolean;

export type CompiledValueFilter =
  | { ok: true; predicate: ElementPredicate; canonical: string }
  | { ok: false; message: string };

type Literal = boolean | null | number | string;

/** Parses the text inside `[...]` (e.g. `type eq "work" and primary eq true`) into a predicate. */
export function compileValueFilter(text: string): CompiledValueFilter {
  let ast: Filter;
  try {
    ast = parse(text);
  } catch {
    // The parser's own messages are about tokens ("[(EOT)] is not json"); an example helps more.
    return { ok: false, message: `the value filter "${text}" is not valid (expected e.g. [type eq "work"] or [primary eq true])` };
  }
  try {
    return { ok: true, ...compileNode(ast) };
  } catch (error) {
    return { ok: false, message: `the value filter "${text}" is not supported (${describe(error)})` };
  }
}

function describe(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

type Compiled = { predicate: ElementPredicate; canonical: string };

function compileNode(node: Filter): Compiled {
  switch (node.op) {
    case "and":
    case "or": {
      const parts = node.filters.map(compileNode);
      const predicates = parts.map((p) => p.predicate);
      const canonical = `(${parts.map((p) => p.canonical).join(` ${node.op} `)})`;
      const predicate: ElementPredicate =
        node.op === "and" ? (e) => predicates.every((p) => p(e)) : (e) => predicates.some((p) => p(e));
      return { predicate, canonical };
    }
    case "not": {
      const inner = compileNode(node.filter);
      return { predicate: (e) => !inner.predicate(e), canonical: `not ${inner.canonical}` };
    }
    case "[]": {
      const read = pathGetter(node.attrPath);
      const inner = compileNode(node.valFilter);
      const predicate: ElementPredicate = (e) => {
        const value = read(e);
        return Array.isArray(value) ? value.some(inner.predicate) : value !== undefined && inner.predicate(value);
      };
      return { predicate, canonical: `${node.attrPath.toLowerCase()}[${inner.canonical}]` };
    }
    case "pr": {
      const read = pathGetter(node.attrPath);
      return { predicate: (e) => isPresent(read(e)), canonical: `${node.attrPath.toLowerCase()} pr` };
    }
    default: {
      const read = pathGetter(node.attrPath);
      const expected = normalizeLiteral(node.compValue);
      // `ne` is the negation of `eq` over the whole attribute, not "some value differs".
      const negate = node.op === "ne";
      const test = comparator(negate ? "eq" : node.op, expected);
      const predicate: ElementPredicate = (e) => {
        const actual = read(e);
        // A multi-valued sub-attribute matches when any of its values does (RFC 7644 §3.4.2.2).
        const matched = Array.isArray(actual) ? actual.some(test) : test(actual);
        return negate ? !matched : matched;
      };
      return { predicate, canonical: `${node.attrPath.toLowerCase()} ${node.op} ${JSON.stringify(expected)}` };
    }
  }
}

/** IdPs send "true"/"false" as strings, so the literal is read as the boolean it spells. */
function normalizeLiteral(value: Literal): Literal {
  if (typeof value === "string") {
    const lower = value.toLowerCase();
    if (lower === "true") return true;
    if (lower === "false") return false;
    return lower;
  }
  return value;
}

function pathGetter(attrPath: string): AttributeGetter {
  const getters = attrPath.split(".").map(attributeGetter);
  const simpleValue = attrPath.toLowerCase() === "value";
  return (element) => {
    // Simple multi-valued attributes hold bare values; `value` then names the element itself.
    if (simpleValue && !isRecord(element)) return element ?? undefined;
    let current: unknown = element;
    for (const get of getters) {
      current = get(current);
      if (current === undefined) return undefined;
    }
    return current;
  };
}

function isPresent(value: unknown): boolean {
  if (value === undefined || value === null || value === "") return false;
  return !(Array.isArray(value) && value.length === 0);
}

/** Reads a boolean or a string spelling one; anything else is not a boolean. */
export function asBoolean(value: unknown): boolean | undefined {
  if (typeof value === "boolean") return value;
  if (typeof value === "string") {
    const lower = value.trim().toLowerCase();
    if (lower === "true") return true;
    if (lower === "false") return false;
  }
  return undefined;
}

function asNumber(value: unknown): number | undefined {
  if (typeof value === "number") return value;
  if (typeof value === "string" && value.trim() !== "") {
    const parsed = Number(value);
    return Number.isNaN(parsed) ? undefined : parsed;
  }
  return undefined;
}

function asText(value: unknown): string | undefined {
  if (typeof value === "string") return value.toLowerCase();
  if (typeof value === "number") return String(value);
  return undefined;
}

function equals(actual: unknown, expected: Literal): boolean {
  if (expected === null) return actual === undefined || actual === null;
  if (typeof expected === "boolean") return asBoolean(actual) === expected;
  if (typeof expected === "number") return asNumber(actual) === expected;
  if (typeof actual === "number") return asNumber(expected) === actual;
  return asText(actual) === expected;
}

function order(actual: unknown, expected: Literal): number | undefined {
  if (typeof expected === "number") {
    const n = asNumber(actual);
    return n === undefined ? undefined : n - expected;
  }
  if (typeof expected === "string") {
    const text = asText(actual);
    if (text === undefined) return undefined;
    return text < expected ? -1 : text > expected ? 1 : 0;
  }
  return undefined;
}

function comparator(op: string, expected: Literal): (actual: unknown) => boolean {
  const text = typeof expected === "string" ? expected : typeof expected === "number" ? String(expected) : undefined;
  const ordered = (accept: (sign: number) => boolean) => (actual: unknown) => {
    const sign = order(actual, expected);
    return sign !== undefined && accept(sign);
  };
  switch (op) {
    case "eq":
      return (actual) => equals(actual, expected);
    case "co":
      return (actual) => text !== undefined && (asText(actual)?.includes(text) ?? false);
    case "sw":
      return (actual) => text !== undefined && (asText(actual)?.startsWith(text) ?? false);
    case "ew":
      return (actual) => text !== undefined && (asText(actual)?.endsWith(text) ?? false);
    case "gt":
      return ordered((s) => s > 0);
    case "ge":
      return ordered((s) => s >= 0);
    case "lt":
      return ordered((s) => s < 0);
    case "le":
      return ordered((s) => s <= 0);
    default:
      throw new Error(`unknown operator "${op}"`);
  }
}
