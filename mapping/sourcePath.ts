import { attributeGetter, type AttributeGetter } from "./attributes.ts";
import { compileValueFilter, type ElementPredicate } from "./valueFilter.ts";
import type { SourceReader } from "./types.ts";

export const ENTERPRISE_USER_SCHEMA = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User";
export const CORE_USER_SCHEMA = "urn:ietf:params:scim:schemas:core:2.0:User";

const KNOWN_SCHEMAS = new Set([ENTERPRISE_USER_SCHEMA.toLowerCase(), CORE_USER_SCHEMA.toLowerCase()]);
const ATTRIBUTE_NAME = /^(?:\$ref|[A-Za-z][A-Za-z0-9_-]*)$/;
const SCHEMA_URN = /^urn:[^\s:[\]."]+(?::[^\s:[\]"]+)+$/i;
const MAX_INDEX = 1_000_000;

/**
 * `canonical` identifies the path regardless of spelling (case, filter spacing, either URN
 * separator), so an org entry can be matched against the default it overrides.
 */
export type CompiledSourcePath = { ok: true; read: SourceReader; canonical: string } | { ok: false; message: string };

type Selector = { kind: "index"; index: number } | { kind: "all" } | { kind: "filter"; predicate: ElementPredicate };
type Step = { get: AttributeGetter; selector: Selector | null };
type AttributePath = { ok: true; steps: Step[]; canonical: string } | { ok: false; message: string };
type Scan = { colons: number[]; dots: number[] };

/** Compiles a SCIM source path (`name.givenName`, `emails[type eq "work"].value`, `urn:…:User:department`) into a reader. */
export function compileSourcePath(path: string): CompiledSourcePath {
  const text = path.trim();
  if (text === "") return { ok: false, message: "the source path is empty" };
  if (/^urn:/i.test(text)) return compileExtensionPath(text);
  const compiled = compileAttributePath(text);
  if (!compiled.ok) return compiled;
  const { steps } = compiled;
  return { ok: true, read: (user) => runSteps(steps, user), canonical: compiled.canonical };
}

function runSteps(steps: readonly Step[], root: unknown): unknown {
  let current = root;
  for (const step of steps) {
    current = step.get(current);
    if (current === undefined) return undefined;
    if (step.selector !== null) {
      current = select(current, step.selector);
      if (current === undefined) return undefined;
    }
  }
  return current;
}

// IdPs sometimes send a lone object where SCIM says array, so selectors treat it as a list of one.
function select(value: unknown, selector: Selector): unknown {
  switch (selector.kind) {
    case "index":
      if (Array.isArray(value)) return value[selector.index] ?? undefined;
      return selector.index === 0 ? value : undefined;
    case "all":
      return Array.isArray(value) ? value : [value];
    case "filter":
      if (Array.isArray(value)) return value.find(selector.predicate) ?? undefined;
      return selector.predicate(value) ? value : undefined;
  }
}

/** Finds top-level `:` and `.` (outside brackets and quoted filter values), or explains what is unbalanced. */
function scanTopLevel(text: string): Scan | string {
  const scan: Scan = { colons: [], dots: [] };
  let depth = 0;
  let quoted = false;
  for (let i = 0; i < text.length; i++) {
    const c = text[i];
    if (quoted) {
      if (c === "\\") i++;
      else if (c === '"') quoted = false;
      continue;
    }
    if (c === '"' && depth > 0) quoted = true;
    else if (c === "[") depth++;
    else if (c === "]") {
      depth--;
      if (depth < 0) return `"]" at position ${i + 1} has no matching "["`;
    } else if (depth === 0 && c === ":") scan.colons.push(i);
    else if (depth === 0 && c === ".") scan.dots.push(i);
  }
  if (quoted) return "a quoted value inside [...] is not closed";
  if (depth > 0) return `a "[" is not closed with "]"`;
  return scan;
}

function compileAttributePath(text: string): AttributePath {
  const scan = scanTopLevel(text);
  if (typeof scan === "string") return { ok: false, message: scan };
  const bounds = [-1, ...scan.dots, text.length];
  const steps: Step[] = [];
  const canonical: string[] = [];
  for (let i = 0; i + 1 < bounds.length; i++) {
    const piece = text.slice((bounds[i] ?? 0) + 1, bounds[i + 1]);
    const segment = compileSegment(piece);
    if (!segment.ok) return segment;
    steps.push(segment.step);
    canonical.push(segment.canonical);
  }
  return { ok: true, steps, canonical: canonical.join(".") };
}

function compileSegment(piece: string): { ok: true; step: Step; canonical: string } | { ok: false; message: string } {
  const open = piece.indexOf("[");
  const name = open === -1 ? piece : piece.slice(0, open);
  if (name === "") return { ok: false, message: "an attribute name is missing (check for \"..\", a leading or a trailing \".\")" };
  if (!ATTRIBUTE_NAME.test(name)) {
    const hint = name.includes(":") ? '; extension attributes are written "urn:…:User:attribute"' : "";
    return { ok: false, message: `"${name}" is not a valid attribute name (letters, digits, "_" and "-", starting with a letter)${hint}` };
  }
  const get = attributeGetter(name);
  if (open === -1) return { ok: true, step: { get, selector: null }, canonical: name.toLowerCase() };
  if (!piece.endsWith("]")) return { ok: false, message: `unexpected text after "]" in "${piece}"` };
  const inner = piece.slice(open + 1, -1).trim();
  const selector = compileSelector(inner);
  if (!selector.ok) return selector;
  return { ok: true, step: { get, selector: selector.selector }, canonical: `${name.toLowerCase()}[${selector.canonical}]` };
}

function compileSelector(inner: string): { ok: true; selector: Selector; canonical: string } | { ok: false; message: string } {
  if (inner === "") return { ok: false, message: '"[]" needs an index, "*" or a value filter' };
  if (inner === "*") return { ok: true, selector: { kind: "all" }, canonical: "*" };
  if (/^\d+$/.test(inner)) {
    const index = Number(inner);
    if (index > MAX_INDEX) return { ok: false, message: `index ${inner} is too large` };
    return { ok: true, selector: { kind: "index", index }, canonical: String(index) };
  }
  const filter = compileValueFilter(inner);
  if (!filter.ok) return filter;
  return { ok: true, selector: { kind: "filter", predicate: filter.predicate }, canonical: filter.canonical };
}

type ExtensionCandidate = { schema: string; steps: Step[]; canonical: string };

/**
 * Both spellings seen in the wild are accepted (`…:User.department` and `…:User:department`).
 * Since the schema URN itself contains dots ("2.0"), every split after the last top-level colon
 * is a candidate; at evaluation the first candidate whose schema the user carries wins.
 */
function compileExtensionPath(text: string): CompiledSourcePath {
  const scan = scanTopLevel(text);
  if (typeof scan === "string") return { ok: false, message: scan };
  const lastColon = scan.colons[scan.colons.length - 1] ?? -1;
  const splits = [lastColon, ...scan.dots.filter((d) => d > lastColon)];
  const candidates: ExtensionCandidate[] = [];
  let firstProblem = "";
  for (const split of splits) {
    const schema = text.slice(0, split);
    if (!SCHEMA_URN.test(schema)) continue;
    const path = compileAttributePath(text.slice(split + 1));
    if (path.ok) candidates.push({ schema, steps: path.steps, canonical: path.canonical });
    else firstProblem ||= path.message;
  }
  const preferred = pickPreferred(text, lastColon, scan, candidates);
  if (preferred === undefined) {
    return {
      ok: false,
      message: firstProblem || 'an extension path must look like "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:department"',
    };
  }
  const ordered = [preferred, ...candidates.filter((c) => c !== preferred).sort((a, b) => b.schema.length - a.schema.length)];
  const readers = ordered.map((candidate) => {
    const isCore = candidate.schema.toLowerCase() === CORE_USER_SCHEMA.toLowerCase();
    const getSchema = attributeGetter(candidate.schema);
    return { base: (user: unknown): unknown => (isCore ? user : getSchema(user)), steps: candidate.steps };
  });
  const read: SourceReader = (user) => {
    for (const reader of readers) {
      const base = reader.base(user);
      if (base !== undefined) return runSteps(reader.steps, base);
    }
    return undefined;
  };
  const schemaKey = preferred.schema.toLowerCase();
  const canonical = schemaKey === CORE_USER_SCHEMA.toLowerCase() ? preferred.canonical : `${schemaKey}:${preferred.canonical}`;
  return { ok: true, read, canonical };
}

// Resource type segments (`User`, `Group`) start upper-case while attribute names do not, which
// tells `…:2.0:User.department` (dot spelling) apart from `…:User:manager.value` (colon spelling).
function pickPreferred(text: string, lastColon: number, scan: Scan, candidates: ExtensionCandidate[]): ExtensionCandidate | undefined {
  const known = candidates.find((c) => KNOWN_SCHEMAS.has(c.schema.toLowerCase()));
  if (known) return known;
  const firstDot = scan.dots.find((d) => d > lastColon);
  const dotSpelling = firstDot !== undefined && /^[A-Z]/.test(text.slice(lastColon + 1));
  const split = dotSpelling ? firstDot : lastColon;
  return candidates.find((c) => c.schema.length === split) ?? candidates[0];
}
