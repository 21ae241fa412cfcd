import { InvalidPathError, MutabilityError, ValidationError } from "../../errors.ts";
import type { FilterNode } from "../filter/types.ts";
import { resolveAttribute } from "../schemas/resolve.ts";
import { isJsonObject } from "../schemas/types.ts";
import { parsePatchBody, type PatchOpName, type PatchOperation } from "./body.ts";
import { parsePatchPath } from "./path.ts";
import { assertIdentifierLength, assertMemberCount, DEFAULT_SCIM_LIMITS, type ScimLimits } from "../limits.ts";

/** One change to a Group, in the order the PatchOp asked for it. Members are user ids (`value`). */
export type GroupPatchStep =
  | { kind: "setDisplayName"; value: string }
  | { kind: "setExternalId"; value: string | null }
  | { kind: "addMembers"; values: string[] }
  | { kind: "removeMembers"; values: string[] }
  | { kind: "removeAllMembers" }
  | { kind: "replaceMembers"; values: string[] };

/** The ordered steps a Group PATCH amounts to; members live in team_memberships, not in JSON. */
export type GroupPatchPlan = GroupPatchStep[];

function invalidValue(field: string, message: string): never {
  throw new ValidationError(`${field} ${message}.`, { field }, "invalidValue");
}

/** Member ids from a members value: `[{value, $ref?, display?, type?}]`, one such object, or bare ids. */
function memberValues(value: unknown, field: string): string[] {
  const list = Array.isArray(value) ? value : [value];
  // A Set, not includes(): 10,000 members were 50 million comparisons.
  const values = new Set<string>();
  list.forEach((member, index) => {
    const raw = isJsonObject(member) ? Object.entries(member).find(([key]) => key.toLowerCase() === "value")?.[1] : member;
    if (typeof raw !== "string" || raw.trim() === "") invalidValue(`${field}[${index}].value`, "must be a non-empty string");
    values.add(raw);
  });
  return [...values];
}

/** The ids named by a members filter made only of `value eq "…"` joined by `or`. */
function filterValues(filter: FilterNode, path: string): string[] {
  if (filter.op === "or") return [...new Set(filter.filters.flatMap((part) => filterValues(part, path)))];
  if (filter.op === "eq" && filter.attrPath.toLowerCase() === "value" && typeof filter.compValue === "string") {
    return [filter.compValue];
  }
  throw new InvalidPathError(`PATCH path "${path}": members can only be selected by value eq "…", optionally joined with or.`);
}

function displayNameStep(value: unknown, field: string): GroupPatchStep {
  if (typeof value !== "string" || value.trim() === "") return invalidValue(field, "must be a non-empty string");
  return { kind: "setDisplayName", value };
}

function externalIdStep(value: unknown, field: string): GroupPatchStep {
  if (value === null || value === "") return { kind: "setExternalId", value: null };
  if (typeof value !== "string") return invalidValue(field, "must be a string or null");
  return { kind: "setExternalId", value };
}

function membersStep(op: PatchOpName, value: unknown, field: string): GroupPatchStep {
  if (op === "add") return { kind: "addMembers", values: value === null ? [] : memberValues(value, field) };
  if (op === "replace") return { kind: "replaceMembers", values: value === null ? [] : memberValues(value, field) };
  // Entra's default remove names the members to drop in value; with no value, all go.
  if (value === undefined || value === null) return { kind: "removeAllMembers" };
  return { kind: "removeMembers", values: memberValues(value, field) };
}

interface AttributeStepInput {
  readonly attribute: string;
  readonly op: PatchOpName;
  readonly value: unknown;
  readonly field: string;
  readonly currentId: string | undefined;
}

/** Steps for one attribute (path without filter or sub-attribute, or one key of a no-path value). */
function attributeSteps({ attribute, op, value, field, currentId }: AttributeStepInput): GroupPatchStep[] {
  switch (attribute) {
    case "displayName":
      if (op === "remove" || value === null) throw new MutabilityError("displayName is required and cannot be removed.");
      return [displayNameStep(value, field)];
    case "externalId":
      return [externalIdStep(op === "remove" ? null : value, field)];
    case "members":
      return [membersStep(op, value, field)];
    case "id":
      if (op !== "remove" && (currentId === undefined || value === currentId)) return [];
      throw new MutabilityError("id is read-only and cannot be changed.");
    default:
      throw new MutabilityError(`${attribute} is read-only and cannot be changed.`);
  }
}

function pathSteps(operation: PatchOperation, path: string, currentId: string | undefined): GroupPatchStep[] {
  const target = parsePatchPath("Group", path);
  if (target.kind !== "attribute") throw new InvalidPathError(`PATCH path "${path}" names no attribute of Group.`);
  const name = target.attribute.attribute.name;
  const field = `Operations[${operation.index}].value`;
  if (name === "meta" || name === "schemas") throw new MutabilityError(`${target.attribute.path} is read-only and cannot be changed.`);
  if (target.subAttribute) {
    throw new InvalidPathError(`PATCH path "${path}": ${target.attribute.path}.${target.subAttribute.name} cannot be patched on its own.`);
  }
  if (!target.filter) return attributeSteps({ attribute: name, op: operation.op, value: operation.value, field, currentId });
  if (name !== "members" || operation.op === "add") {
    throw new InvalidPathError(`PATCH path "${path}": a value filter is only supported to remove or replace members.`);
  }
  const selected = filterValues(target.filter, path);
  const steps: GroupPatchStep[] = [{ kind: "removeMembers", values: selected }];
  if (operation.op === "replace" && operation.value !== null) {
    steps.push({ kind: "addMembers", values: memberValues(operation.value, field) });
  }
  return steps;
}

function noPathSteps(operation: PatchOperation, currentId: string | undefined): GroupPatchStep[] {
  const field = `Operations[${operation.index}].value`;
  if (!isJsonObject(operation.value)) return invalidValue(field, "must be an object of attributes when the path is omitted");
  const steps: GroupPatchStep[] = [];
  for (const [key, value] of Object.entries(operation.value)) {
    const resolved = resolveAttribute("Group", key);
    if (!resolved || resolved.subAttribute) throw new InvalidPathError(`"${key}" in ${field} names no attribute of Group.`);
    // Okta echoes id, meta and schemas in a no-path replace; the server owns them.
    if (resolved.attribute.name === "meta" || resolved.attribute.name === "schemas") continue;
    steps.push(...attributeSteps({ attribute: resolved.attribute.name, op: operation.op, value, field: `${field}.${resolved.path}`, currentId }));
  }
  return steps;
}

/**
 * Plans a Group PatchOp as ordered steps over display name, external id and memberships, with
 * the same tolerance as applyPatch. `options.id` lets an echoed `id` be checked against the group's.
 */
export function planGroupPatch(body: unknown, options: { id?: string; limits?: ScimLimits } = {}): GroupPatchPlan {
  const limits = options.limits ?? DEFAULT_SCIM_LIMITS;
  const steps: GroupPatchPlan = [];
  for (const operation of parsePatchBody(body, limits)) {
    steps.push(...(operation.path === undefined ? noPathSteps(operation, options.id) : pathSteps(operation, operation.path, options.id)));
  }
  assertPlanSize(steps, limits);
  return steps;
}

/** Members named across the whole PATCH, and the length of every name, member and externalId in it. */
function assertPlanSize(steps: GroupPatchPlan, limits: ScimLimits): void {
  let members = 0;
  for (const step of steps) {
    if (step.kind === "setDisplayName") assertIdentifierLength(step.value, "displayName", limits);
    if (step.kind === "setExternalId" && step.value !== null) assertIdentifierLength(step.value, "externalId", limits);
    if (step.kind === "addMembers" || step.kind === "removeMembers" || step.kind === "replaceMembers") {
      members += step.values.length;
      assertMemberCount(members, "members", limits);
      for (const value of step.values) assertIdentifierLength(value, "members.value", limits);
    }
  }
}
