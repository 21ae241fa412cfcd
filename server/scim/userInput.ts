import { canonicalizeResource } from "./schemas/index.ts";
import { InvalidSyntaxError, ValidationError } from "../errors.ts";
import { assertAttributeValues, assertIdentifierLength, assertMemberCount, DEFAULT_SCIM_LIMITS, type ScimLimits } from "./limits.ts";

export const USER_SCHEMA = "urn:ietf:params:scim:schemas:core:2.0:User";
export const ENTERPRISE_USER_SCHEMA = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User";

export type JsonObject = Record<string, unknown>;

/** A team reference from a user's own `groups` attribute (OneLogin sends role names there). */
export type GroupRef = { value: string | null; display: string | null };

/** A validated SCIM user write: the resource to store and the fields Rollcall indexes. */
export type UserInput = {
  resource: JsonObject;
  userName: string;
  externalId: string | null;
  active: boolean;
  groups: GroupRef[] | undefined;
};

const isObject = (value: unknown): value is JsonObject => typeof value === "object" && value !== null && !Array.isArray(value);

function readGroups(value: unknown, limits: ScimLimits): GroupRef[] | undefined {
  if (value === undefined || value === null) return undefined;
  if (!Array.isArray(value)) throw new ValidationError("groups must be an array.", { field: "groups" });
  assertMemberCount(value.length, "groups", limits);
  return value.map((entry): GroupRef => {
    if (typeof entry === "string") assertIdentifierLength(entry, "groups.value", limits);
    if (typeof entry === "string") return { value: entry, display: null };
    if (!isObject(entry)) throw new ValidationError("groups entries must be objects with a value.", { field: "groups" });
    const str = (v: unknown) => (typeof v === "string" && v.trim() !== "" ? v.trim() : null);
    const ref = { value: str(entry.value), display: str(entry.display) };
    if (ref.value !== null) assertIdentifierLength(ref.value, "groups.value", limits);
    if (ref.display !== null) assertIdentifierLength(ref.display, "groups.display", limits);
    return ref;
  });
}

function assertValueCounts(resource: JsonObject, limits: ScimLimits): void {
  for (const [key, value] of Object.entries(resource)) {
    const name = key.toLowerCase();
    if (name === "groups" || name === "schemas" || !Array.isArray(value)) continue;
    assertAttributeValues(value.length, key, limits);
  }
}

/**
 * Every multi-valued attribute (emails, phoneNumbers, roles, …, and arrays under unknown names)
 * stays within the per-attribute limit, and each email address within the identifier length
 * (the primary one is indexed as email_address).
 */
function assertValueLimits(resource: JsonObject, limits: ScimLimits): void {
  assertValueCounts(resource, limits);
  const emails = resource.emails;
  if (!Array.isArray(emails)) return;
  for (const email of emails) {
    if (isObject(email) && typeof email.value === "string") assertIdentifierLength(email.value, "emails.value", limits);
  }
}

/**
 * Validates a SCIM user body (POST or PUT, or the result of a PATCH) and splits it into the
 * resource to store (canonical names, no id/meta/password) and the indexed fields.
 */
export function parseUserInput(body: unknown, limits: ScimLimits = DEFAULT_SCIM_LIMITS): UserInput {
  if (!isObject(body)) throw new InvalidSyntaxError("The request body must be a SCIM User JSON object.");
  // Counted before canonicalization walks every value (30,000 emails cost a second there).
  assertValueCounts(body, limits);
  const resource = canonicalizeResource("User", body);
  const rawUserName = resource.userName;
  if (typeof rawUserName !== "string" || rawUserName.trim() === "") {
    throw new ValidationError("userName is required and must be a non-empty string.", { field: "userName" });
  }
  // One Unicode normal form for the unique index and for lookups: "josé" typed on a Mac (NFD) and
  // on Windows (NFC) is one user. Filters on userName are normalized the same way.
  const userName = rawUserName.normalize("NFC");
  assertIdentifierLength(userName, "userName", limits);
  const rawExternalId = resource.externalId;
  if (rawExternalId !== undefined && rawExternalId !== null && typeof rawExternalId !== "string") {
    throw new ValidationError("externalId must be a string.", { field: "externalId" });
  }
  if (typeof rawExternalId === "string") assertIdentifierLength(rawExternalId, "externalId", limits);
  assertValueLimits(resource, limits);
  const externalId = typeof rawExternalId === "string" && rawExternalId.trim() !== "" ? rawExternalId : null;
  const active = resource.active ?? true;
  if (typeof active !== "boolean") throw new ValidationError("active must be a boolean.", { field: "active" });
  const groups = readGroups(resource.groups, limits);

  const stored: JsonObject = { ...resource, userName: userName.trim(), active };
  delete stored.id;
  delete stored.meta;
  delete stored.password;
  if (externalId === null) delete stored.externalId;
  const schemas = new Set<string>([USER_SCHEMA]);
  if (isObject(stored[ENTERPRISE_USER_SCHEMA])) schemas.add(ENTERPRISE_USER_SCHEMA);
  stored.schemas = [...schemas];
  return { resource: stored, userName: userName.trim(), externalId, active, groups };
}
