import { MutabilityError, ValidationError } from "../../errors.ts";
import { findAttribute, findExtensionSchema } from "../schemas/registry.ts";
import { resolveAttribute, type ResolvedAttribute } from "../schemas/resolve.ts";
import { isJsonObject, type JsonObject, type ResourceType, type SchemaDefinition } from "../schemas/types.ts";
import { applyToAttribute, type AttributeTarget } from "./attributeOps.ts";
import { parsePatchBody, type PatchOpName, type PatchOperation } from "./body.ts";
import { addSchema, readKey, removeKey, writeKey } from "./document.ts";
import { parsePatchPath } from "./path.ts";
import { assertAttributeValues, assertMemberCount, assertObjectKeys, DEFAULT_SCIM_LIMITS, type ScimLimits } from "../limits.ts";

/** Attributes the server maintains; inside a no-path value they are ignored rather than refused. */
const SERVER_MANAGED = new Set(["meta", "schemas"]);

/** What the patch runs against: the resource type and, when known, the resource's id. */
interface PatchContext {
  readonly resourceType: ResourceType;
  readonly id: string | undefined;
  readonly document: JsonObject;
}

function isExempt(resourceType: ResourceType, resolved: ResolvedAttribute): boolean {
  // OneLogin sends role names on the user's groups; SPEC turns them into team memberships.
  return resourceType === "User" && !resolved.extension && resolved.attribute.name === "groups";
}

/**
 * RFC 7644 §3.5.2: writing a readOnly attribute, or removing a required one, is a mutability
 * error. An `id` equal to the resource's own id is accepted as a no-op (Okta sends it back).
 * Returns false when the operation should be skipped.
 */
function checkMutability(context: PatchContext, target: AttributeTarget, op: PatchOpName, value: unknown): boolean {
  const { attribute: resolved, subAttribute, resourceType } = target;
  const definition = subAttribute ?? resolved.attribute;
  const readOnly = resolved.attribute.mutability === "readOnly" || definition.mutability === "readOnly";
  if (readOnly && !isExempt(resourceType, resolved)) {
    if (resolved.path === "id" && op !== "remove" && context.id !== undefined && value === context.id) return false;
    throw new MutabilityError(`${resolved.path}${subAttribute ? `.${subAttribute.name}` : ""} is read-only and cannot be changed.`);
  }
  const clears = op === "remove" || value === null;
  if (clears && !subAttribute && !target.filter && resolved.attribute.required) {
    throw new MutabilityError(`${resolved.path} is required and cannot be removed.`);
  }
  return true;
}

function apply(context: PatchContext, target: AttributeTarget, op: PatchOpName, value: unknown): void {
  if (checkMutability(context, target, op, value)) applyToAttribute(context.document, target, op, value);
}

function attributeTarget(resourceType: ResourceType, resolved: ResolvedAttribute): AttributeTarget {
  const top: ResolvedAttribute = resolved.subAttribute
    ? { ...resolved, subAttribute: undefined, definition: resolved.attribute, path: resolved.path.replace(/\.[^.:]+$/, "") }
    : resolved;
  return { resourceType, attribute: top, filter: undefined, subAttribute: resolved.subAttribute };
}

/** The attributes of an extension object: known ones patched one by one, unknown ones kept as sent. */
function applyToExtension(context: PatchContext, schema: SchemaDefinition, op: PatchOpName, value: unknown): void {
  const { resourceType, document } = context;
  if (op === "remove") {
    removeKey(document, schema.id);
    return;
  }
  if (!isJsonObject(value)) {
    throw new ValidationError(`The value for ${schema.id} must be an object of its attributes.`, { field: schema.id }, "invalidValue");
  }
  for (const [key, inner] of Object.entries(value)) {
    const resolved = findAttribute(schema.attributes, key) ? resolveAttribute(resourceType, `${schema.id}:${key}`) : undefined;
    if (resolved) {
      apply(context, attributeTarget(resourceType, resolved), op, inner);
    } else {
      const container = readKey(document, schema.id);
      const extension = isJsonObject(container) ? container : {};
      writeKey(extension, key, inner);
      writeKey(document, schema.id, extension);
      addSchema(document, schema.id);
    }
  }
}

/**
 * No path: the value is a set of attributes to add or replace (RFC 7644 §3.5.2.1/3). Extension
 * objects under their URN, flattened `URN:attr` keys and `name.givenName`-style keys all resolve;
 * meta and schemas are ignored; unknown attributes are kept as sent, like on POST.
 */
function applyWithoutPath(context: PatchContext, operation: PatchOperation, value: unknown): void {
  const { resourceType, document } = context;
  if (!isJsonObject(value)) {
    const field = `Operations[${operation.index}].value`;
    throw new ValidationError(`${field} must be an object of attributes when the path is omitted.`, { field }, "invalidValue");
  }
  for (const [key, inner] of Object.entries(value)) {
    const extension = findExtensionSchema(resourceType, key);
    if (extension) {
      applyToExtension(context, extension, operation.op, inner);
      continue;
    }
    const resolved = resolveAttribute(resourceType, key);
    if (!resolved) writeKey(document, key, inner);
    else if (!resolved.extension && SERVER_MANAGED.has(resolved.attribute.name)) continue;
    // Without the resource's id there is nothing to compare an echoed id with; it is never written.
    else if (resolved.path === "id" && context.id === undefined) continue;
    else apply(context, attributeTarget(resourceType, resolved), operation.op, inner);
  }
}

/** A user's `groups` are memberships (OneLogin roles), counted like a group's members. */
function assertValueCount(name: string, values: unknown[], limits: ScimLimits): void {
  if (name.toLowerCase() === "groups") assertMemberCount(values.length, name, limits);
  else assertAttributeValues(values.length, name, limits);
}

/**
 * Counts an operation's values before any is applied: merging n values into m existing ones is
 * n×m comparisons, so the counts are bounded first (the result is bounded again when it is validated).
 */
function assertOperationSize(operation: PatchOperation, limits: ScimLimits): void {
  const { value, path } = operation;
  if (Array.isArray(value)) assertValueCount(path ?? "value", value, limits);
  if (!isJsonObject(value)) return;
  for (const [key, inner] of Object.entries(value)) {
    if (Array.isArray(inner)) assertValueCount(key, inner, limits);
  }
}

/** The patched document's own keys (and each extension object's) stay within the per-object limit. */
function assertDocumentKeys(document: JsonObject, limits: ScimLimits): void {
  assertObjectKeys(Object.keys(document).length, "The patched resource", limits);
  for (const [key, inner] of Object.entries(document)) {
    if (isJsonObject(inner)) assertObjectKeys(Object.keys(inner).length, key, limits);
  }
}

/**
 * Applies an RFC 7644 §3.5.2 PatchOp to a canonical SCIM resource and returns the patched copy.
 * Throws AppError subclasses: invalidSyntax, invalidPath, invalidFilter, noTarget, invalidValue, mutability.
 * `options.id` is the resource's id when `resource` does not carry it (an echoed equal id is ignored).
 */
export function applyPatch(
  resourceType: ResourceType,
  resource: JsonObject,
  body: unknown,
  options: { id?: string; limits?: ScimLimits } = {},
): JsonObject {
  const limits = options.limits ?? DEFAULT_SCIM_LIMITS;
  const operations = parsePatchBody(body, limits);
  for (const operation of operations) assertOperationSize(operation, limits);
  const document = structuredClone(resource);
  const ownId = typeof resource.id === "string" ? resource.id : undefined;
  const context: PatchContext = { resourceType, id: options.id ?? ownId, document };
  for (const operation of operations) {
    // Values are copied so later operations never alias the caller's request body.
    const value: unknown = structuredClone(operation.value);
    if (operation.path === undefined) {
      applyWithoutPath(context, operation, value);
      continue;
    }
    const target = parsePatchPath(resourceType, operation.path);
    if (target.kind === "extension") {
      applyToExtension(context, target.schema, operation.op, value);
    } else {
      apply(context, { resourceType, attribute: target.attribute, filter: target.filter, subAttribute: target.subAttribute }, operation.op, value);
    }
  }
  assertDocumentKeys(document, limits);
  return document;
}
