import { InvalidSyntaxError, ValidationError } from "../errors.ts";
import { assertIdentifierLength, assertMemberCount, DEFAULT_SCIM_LIMITS, type ScimLimits } from "./limits.ts";

/** A validated SCIM group write. `members` is undefined when the body did not mention them. */
export type GroupInput = { displayName: string; externalId: string | null; members: string[] | undefined; resource: Record<string, unknown> };

const isObject = (value: unknown): value is Record<string, unknown> => typeof value === "object" && value !== null && !Array.isArray(value);

/** Finds a key case-insensitively (IdPs vary the case of attribute names). */
function field(body: Record<string, unknown>, name: string): unknown {
  const lower = name.toLowerCase();
  for (const [key, value] of Object.entries(body)) if (key.toLowerCase() === lower) return value;
  return undefined;
}

/**
 * Reads member values from a SCIM members array ({value} objects; `$ref`, display, type ignored).
 * A lone member object is a list of one (RFC 7643 §2.4: multi-valued attributes are arrays).
 */
export function readMemberValues(value: unknown, limits: ScimLimits = DEFAULT_SCIM_LIMITS): string[] {
  if (value === null || value === undefined) return [];
  if (!Array.isArray(value) && !isObject(value)) throw new ValidationError("members must be an array of {value} objects.", { field: "members" });
  assertMemberCount(Array.isArray(value) ? value.length : 1, "members", limits);
  const values: string[] = [];
  for (const member of Array.isArray(value) ? value : [value]) {
    const raw = isObject(member) ? field(member, "value") : member;
    if (typeof raw !== "string" || raw.trim() === "") throw new ValidationError("each member needs a non-empty string value.", { field: "members" });
    assertIdentifierLength(raw.trim(), "members.value", limits);
    values.push(raw.trim());
  }
  return [...new Set(values)];
}

/**
 * Validates a SCIM group body (POST or PUT). Any `schemas` value is accepted: Entra sends a
 * non-standard one; the group attributes are what matter.
 */
export function parseGroupInput(body: unknown, limits: ScimLimits = DEFAULT_SCIM_LIMITS): GroupInput {
  if (!isObject(body)) throw new InvalidSyntaxError("The request body must be a SCIM Group JSON object.");
  const displayName = field(body, "displayName");
  if (typeof displayName !== "string" || displayName.trim() === "") {
    throw new ValidationError("displayName is required and must be a non-empty string.", { field: "displayName" });
  }
  assertIdentifierLength(displayName, "displayName", limits);
  const externalId = field(body, "externalId");
  if (externalId !== undefined && externalId !== null && typeof externalId !== "string") {
    throw new ValidationError("externalId must be a string.", { field: "externalId" });
  }
  if (typeof externalId === "string") assertIdentifierLength(externalId, "externalId", limits);
  const membersField = field(body, "members");
  return {
    displayName: displayName.trim(),
    externalId: typeof externalId === "string" && externalId.trim() !== "" ? externalId : null,
    members: membersField === undefined ? undefined : readMemberValues(membersField, limits),
    resource: { displayName: displayName.trim(), ...(typeof externalId === "string" && externalId !== "" ? { externalId } : {}) },
  };
}
