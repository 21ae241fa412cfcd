import { parse } from "scim2-parse-filter";
import { AppError, InvalidFilterError } from "../../errors.ts";
import type { ResolvedAttribute } from "../schemas/resolve.ts";
import type { ResourceType } from "../schemas/types.ts";
import { bindAttribute, bindComparison, bindValuePath, type AttributeScope } from "./bind.ts";
import type { FilterNode } from "./types.ts";

export const MAX_FILTER_LENGTH = 4096;
export const MAX_FILTER_DEPTH = 32;

/** What a filter is checked against: a resource type (else User or Group), or the attribute of a PATCH value path. */
export interface ParseFilterOptions {
  readonly resourceType?: ResourceType;
  /** Parse a value filter relative to this complex attribute, e.g. the `type eq "work"` of `emails[type eq "work"]`. */
  readonly parent?: ResolvedAttribute;
}

/**
 * scim2-parse-filter doubles every backslash not followed by a quote before JSON-parsing a
 * string, so `"a\\b"` would come back as two backslashes and `"\u0041"` undecoded. Its result
 * still determines the original JSON text: put the quote escapes back and parse that text properly.
 */
function decodeLibraryString(value: string): string {
  try {
    const decoded: unknown = JSON.parse(`"${value.replace(/"/g, '\\"')}"`);
    if (typeof decoded === "string") return decoded;
  } catch {
    // Falls through to the error below: the text was not a valid JSON string.
  }
  throw new InvalidFilterError(`Invalid string literal in filter: ${JSON.stringify(value)}.`);
}

function fixStrings(node: FilterNode): FilterNode {
  switch (node.op) {
    case "and":
    case "or":
      return { op: node.op, filters: node.filters.map(fixStrings) };
    case "not":
      return { op: "not", filter: fixStrings(node.filter) };
    case "[]":
      return { op: "[]", attrPath: node.attrPath, valFilter: fixStrings(node.valFilter) };
    case "pr":
      return node;
    default:
      return typeof node.compValue === "string" ? { ...node, compValue: decodeLibraryString(node.compValue) } : node;
  }
}

/** Nesting depth: a comparison is 1, each and/or/not/[] adds one. */
export function filterDepth(node: FilterNode): number {
  switch (node.op) {
    case "and":
    case "or":
      return 1 + Math.max(0, ...node.filters.map(filterDepth));
    case "not":
      return 1 + filterDepth(node.filter);
    case "[]":
      return 1 + filterDepth(node.valFilter);
    default:
      return 1;
  }
}

/** Checks every attribute and comparison of a filter against the schema; throws invalidFilter. */
export function validateFilter(node: FilterNode, scope: AttributeScope): void {
  switch (node.op) {
    case "and":
    case "or":
      if (node.filters.length === 0) throw new InvalidFilterError(`"${node.op}" needs operands.`);
      for (const child of node.filters) validateFilter(child, scope);
      return;
    case "not":
      validateFilter(node.filter, scope);
      return;
    case "[]": {
      const parent = bindValuePath(scope, node.attrPath);
      validateFilter(node.valFilter, { resourceType: scope.resourceType, parent });
      return;
    }
    case "pr":
      bindAttribute(scope, node.attrPath);
      return;
    default:
      bindComparison(scope, node.attrPath, node.op, node.compValue);
  }
}

/**
 * Rewrites each `\\` escape inside a string literal as the equivalent `\u005c`. The library
 * doubles backslashes before JSON-parsing a literal, which turns a value ending in a backslash
 * (`"a\\"`) into an unterminated string; `\u005c` survives that and decodes to the same value.
 */
function protectBackslashes(text: string): string {
  let out = "";
  let inString = false;
  for (let i = 0; i < text.length; i++) {
    const character = text.charAt(i);
    if (inString && character === "\\" && i + 1 < text.length) {
      const next = text.charAt(i + 1);
      out += next === "\\" ? "\\u005c" : `\\${next}`;
      i++;
      continue;
    }
    if (character === '"') inString = !inString;
    out += character;
  }
  return out;
}

const SUB_ATTRIBUTE_COMPARISON = /^\.([A-Za-z][\w$-]*)\s+(?:pr\b|(?:eq|ne|co|sw|ew|gt|lt|ge|le)\s+(?:"(?:[^"\\]|\\.)*"|[^\s()]+))/i;

/**
 * IdPs send `emails[type eq "work"].value eq "x"` (PATCH path syntax inside a filter). The library
 * reads it as two independent conditions, which could be met by two different emails; rewrite it
 * as `emails[(type eq "work") and value eq "x"]` so both apply to the same element.
 */
export function foldValuePathComparisons(text: string): string {
  let inString = false;
  let open = -1;
  for (let i = 0; i < text.length; i++) {
    const character = text.charAt(i);
    if (inString) {
      if (character === "\\") i++;
      else if (character === '"') inString = false;
      continue;
    }
    if (character === '"') inString = true;
    else if (character === "[") open = i;
    else if (character === "]" && open >= 0) {
      const match = SUB_ATTRIBUTE_COMPARISON.exec(text.slice(i + 1));
      if (match) {
        const comparison = match[0].slice(1);
        const folded = `${text.slice(0, open)}[(${text.slice(open + 1, i)}) and ${comparison}]`;
        return folded + foldValuePathComparisons(text.slice(i + 1 + match[0].length));
      }
      open = -1;
    }
  }
  return text;
}

function parseText(text: string): FilterNode {
  // The library's string pattern lets "\n" match two alternatives, which backtracks
  // exponentially on unterminated strings. "\r" is whitespace between tokens just like "\n" and
  // equally invalid inside a JSON string, so swapping it changes no result, only the run time.
  const safe = protectBackslashes(foldValuePathComparisons(text)).replace(/\n/g, "\r");
  try {
    return parse(safe);
  } catch (error) {
    const message = error instanceof Error ? error.message.replace(/\r/g, "\\n") : "unparseable";
    const reason = message.length > 200 ? `${message.slice(0, 200)}…` : message;
    throw new InvalidFilterError(`Filter could not be parsed: ${reason}.`);
  }
}

/** Parses and validates an RFC 7644 §3.4.2.2 filter; every failure is an InvalidFilterError. */
export function parseFilter(text: string, options: ParseFilterOptions = {}): FilterNode {
  try {
    if (typeof text !== "string" || text.trim() === "") throw new InvalidFilterError("Filter is empty.");
    if (text.length > MAX_FILTER_LENGTH) {
      throw new InvalidFilterError(`Filter is longer than ${MAX_FILTER_LENGTH} characters.`);
    }
    const node = fixStrings(parseText(text));
    if (filterDepth(node) > MAX_FILTER_DEPTH) {
      throw new InvalidFilterError(`Filter is nested deeper than ${MAX_FILTER_DEPTH} levels.`);
    }
    validateFilter(node, { resourceType: options.resourceType, parent: options.parent });
    return node;
  } catch (error) {
    if (error instanceof InvalidFilterError) throw error;
    // Anything else (a library bug, a stack overflow) is still the client's filter at fault.
    const reason = error instanceof AppError ? error.message : "it could not be evaluated";
    throw new InvalidFilterError(`Invalid filter: ${reason}`);
  }
}
