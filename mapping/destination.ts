import type { Destination, MetadataBucket, ScalarField } from "./types.ts";

export const ROLE_KEY_HINT = 'expected "org:<name>" with lowercase letters, digits, "_" or "-"';

const ROLE_KEY = /^org:[a-z0-9_-]{1,64}$/;
/** The scalar destinations, in the order they are evaluated and listed in errors. */
export const SCALAR_FIELDS: readonly ScalarField[] = ["email_address", "first_name", "last_name", "external_id", "active", "organization_role"];
const FIELDS = SCALAR_FIELDS;
const BUCKETS: readonly MetadataBucket[] = ["public_metadata", "private_metadata"];
const METADATA_KEY = /^[A-Za-z0-9_-]{1,64}$/;
// Metadata objects are built with plain assignment, so these names must never become keys.
const RESERVED_KEYS = new Set(["__proto__", "constructor", "prototype"]);
const MAX_METADATA_DEPTH = 8;
/** The first segment of every destination (the `destination` label of the mapping-failure counter). */
export const DESTINATION_ROOTS: readonly string[] = [...FIELDS, ...BUCKETS];
const DESTINATION_LIST = `${FIELDS.join(", ")}, public_metadata.<key> or private_metadata.<key>`;

/** True for an organization role key such as `org:admin`. */
export function isRoleKey(value: string): boolean {
  return ROLE_KEY.test(value);
}

/** True when a mapping value contains Liquid markup rather than being a bare destination. */
export function looksLikeTemplate(value: string): boolean {
  return value.includes("{{") || value.includes("{%");
}

export type ParsedDestination = { ok: true; destination: Destination } | { ok: false; message: string };

/** Parses a destination such as `first_name` or `public_metadata.hr.department`. */
export function parseDestination(text: string): ParsedDestination {
  const parts = text.split(".");
  const root = (parts[0] ?? "").toLowerCase();
  const field = FIELDS.find((f) => f === root);
  if (field !== undefined) {
    if (parts.length > 1) return { ok: false, message: `the destination "${field}" takes no sub-key (got "${text}")` };
    return { ok: true, destination: { kind: "field", field, name: field } };
  }
  const bucket = BUCKETS.find((b) => b === root);
  if (bucket === undefined) {
    const hint = isRoleKey(text) ? `; to always assign a role write {{ "${text}" }}.organization_role` : "";
    return { ok: false, message: `unknown destination "${text}"; use ${DESTINATION_LIST}${hint}` };
  }
  const path = parts.slice(1);
  if (path.length === 0) return { ok: false, message: `"${bucket}" needs a key, e.g. "${bucket}.department"` };
  if (path.length > MAX_METADATA_DEPTH) return { ok: false, message: `"${text}" is nested deeper than ${MAX_METADATA_DEPTH} keys` };
  for (const key of path) {
    if (!METADATA_KEY.test(key)) {
      return { ok: false, message: `"${key}" in "${text}" is not a valid metadata key (1-64 letters, digits, "_" or "-")` };
    }
    if (RESERVED_KEYS.has(key)) return { ok: false, message: `"${key}" is a reserved name and cannot be a metadata key` };
  }
  return { ok: true, destination: { kind: "metadata", bucket, path, name: `${bucket}.${path.join(".")}` } };
}

export type SplitValue = { ok: true; template: string | null; destination: Destination } | { ok: false; message: string };

/**
 * Splits "<template>.<destination>". The destination follows the template's last `}}` or `%}`;
 * literal text may sit in between (`{{ value }}@corp.example.email_address`), so the first dot
 * after that point whose remainder is a valid destination is the separator.
 */
export function splitMappingValue(value: string): SplitValue {
  if (!looksLikeTemplate(value)) {
    const parsed = parseDestination(value.trim());
    return parsed.ok ? { ok: true, template: null, destination: parsed.destination } : parsed;
  }
  const end = Math.max(value.lastIndexOf("}}"), value.lastIndexOf("%}"));
  if (end === -1) return { ok: false, message: 'the Liquid template is not closed with "}}" or "%}"' };
  const tail = value.slice(end + 2);
  for (let dot = tail.indexOf("."); dot !== -1; dot = tail.indexOf(".", dot + 1)) {
    const parsed = parseDestination(tail.slice(dot + 1).trim());
    if (parsed.ok) return { ok: true, template: value.slice(0, end + 2 + dot), destination: parsed.destination };
  }
  if (tail.startsWith(".")) {
    const parsed = parseDestination(tail.slice(1).trim());
    if (!parsed.ok) return parsed;
  }
  return {
    ok: false,
    message: 'the template must be followed by ".<destination>", e.g. "{{ value | downcase }}.first_name"',
  };
}
