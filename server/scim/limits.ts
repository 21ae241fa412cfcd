import type { ScimLimits } from "../config.ts";
import { LimitExceededError } from "../errors.ts";

export type { ScimLimits };

/** The defaults of server/config.ts, for callers (tests, the reconciler) that run without a config. */
export const DEFAULT_SCIM_LIMITS: ScimLimits = {
  maxPatchOperations: 1000,
  maxObjectKeys: 500,
  maxStringLength: 8192,
  maxIdentifierLength: 512,
  maxAttributeValues: 100,
  maxMembersPerRequest: 10_000,
};

/**
 * userName, externalId, displayName, member values and email addresses are indexed (btree):
 * a longer value is refused here, named, instead of failing in PostgreSQL as a 500.
 */
export function assertIdentifierLength(value: string, field: string, limits: ScimLimits): void {
  if (value.length > limits.maxIdentifierLength) {
    throw new LimitExceededError(`${field} (${value.length} characters)`, limits.maxIdentifierLength, "ROLLCALL_SCIM_MAX_IDENTIFIER_LENGTH", field);
  }
}

/** Values of one multi-valued attribute (emails, phoneNumbers, roles, …); real IdPs send a handful. */
export function assertAttributeValues(count: number, field: string, limits: ScimLimits): void {
  if (count > limits.maxAttributeValues) {
    throw new LimitExceededError(`${field} has ${count} values and`, limits.maxAttributeValues, "ROLLCALL_SCIM_MAX_ATTRIBUTE_VALUES", field);
  }
}

/** Members (or a user's groups) named in one request; IdPs send large groups in batches. */
export function assertMemberCount(count: number, field: string, limits: ScimLimits): void {
  if (count > limits.maxMembersPerRequest) {
    throw new LimitExceededError(`${field} names ${count} members and`, limits.maxMembersPerRequest, "ROLLCALL_SCIM_MAX_MEMBERS_PER_REQUEST", field);
  }
}

/** Operations of one PatchOp. */
export function assertOperationCount(count: number, limits: ScimLimits): void {
  if (count > limits.maxPatchOperations) {
    throw new LimitExceededError(`The PATCH has ${count} operations and`, limits.maxPatchOperations, "ROLLCALL_SCIM_MAX_PATCH_OPERATIONS", "Operations");
  }
}

/** Keys of one object of a resource (a PATCH can add keys an edge check never saw together). */
export function assertObjectKeys(count: number, field: string, limits: ScimLimits): void {
  if (count > limits.maxObjectKeys) {
    throw new LimitExceededError(`${field} has ${count} keys and`, limits.maxObjectKeys, "ROLLCALL_SCIM_MAX_OBJECT_KEYS", field);
  }
}
