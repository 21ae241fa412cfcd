import { cloneJson } from "./attributes.ts";
import { isRoleKey, ROLE_KEY_HINT } from "./destination.ts";
import type { Destination } from "./types.ts";
import { asBoolean } from "./valueFilter.ts";

/** What one candidate yields for its destination: a value, nothing, or a reportable error. */
export type Coerced = { kind: "value"; value: unknown } | { kind: "missing" } | { kind: "error"; message: string };

const MISSING: Coerced = { kind: "missing" };
const EMAIL = /^[^\s@]+@[^\s@]+\.[^\s@]+$/;

/** True when a string has the shape of an email address (local@domain.tld, no spaces). */
export function looksLikeEmail(value: string): boolean {
  return EMAIL.test(value);
}

/**
 * Fits a source value (raw JSON, or a template's trimmed output) to its destination. Raw values
 * keep their JSON type in metadata; an empty template output counts as "no value" so the
 * destination falls back to the next candidate.
 */
export function coerce(destination: Destination, value: unknown, fromTemplate: boolean): Coerced {
  if (value === undefined || value === null) return MISSING;
  if (fromTemplate && value === "") return MISSING;
  if (destination.kind === "metadata") return { kind: "value", value: fromTemplate ? value : cloneJson(value) };
  if (destination.field === "active") {
    const flag = asBoolean(value);
    return flag === undefined ? fail(`expected true or false, got ${show(value)}`) : { kind: "value", value: flag };
  }
  const text = scalarText(value);
  if (text === undefined) return fail(`expected text, got ${kindOf(value)} ${show(value)}`);
  if (text === "") return MISSING;
  if (destination.field === "organization_role" && !isRoleKey(text)) {
    // A role template that yields no role key (the SPEC example turns "Engineering" into
    // "engineering") means "no role from this entry": the default applies, as the author intends.
    // A raw source value that is not a role key is still reported: it is usually a mis-mapped field.
    return fromTemplate ? MISSING : fail(`${show(text)} is not a role key (${ROLE_KEY_HINT})`);
  }
  if (destination.field === "email_address" && !looksLikeEmail(text)) return fail(`${show(text)} is not an email address`);
  return { kind: "value", value: text };
}

function scalarText(value: unknown): string | undefined {
  if (typeof value === "string") return value.trim();
  if (typeof value === "number") return String(value);
  return undefined;
}

function kindOf(value: unknown): string {
  if (Array.isArray(value)) return "a list";
  return typeof value === "object" ? "an object" : `a ${typeof value}`;
}

function show(value: unknown): string {
  const text = JSON.stringify(value) ?? String(value);
  return text.length > 80 ? `${text.slice(0, 77)}...` : text;
}

function fail(message: string): Coerced {
  return { kind: "error", message };
}
