import { isDeepStrictEqual } from "node:util";
import { MutabilityError, NoTargetError } from "../../errors.ts";
import { matchesFilter } from "../filter/match.ts";
import type { FilterNode } from "../filter/types.ts";
import type { ResolvedAttribute } from "../schemas/resolve.ts";
import { isJsonObject, type AttributeDefinition, type JsonObject, type ResourceType } from "../schemas/types.ts";
import type { PatchOpName } from "./body.ts";
import { asElements, containerFor, readKey, removeKey, writeElements, writeKey } from "./document.ts";
import { elementFromFilter, keepOnePrimary, normalizeComplex, normalizeScalar, normalizeValue, sameElement } from "./values.ts";

/** One PATCH operation aimed at an attribute, its optional value filter and sub-attribute. */
export interface AttributeTarget {
  readonly resourceType: ResourceType;
  readonly attribute: ResolvedAttribute;
  readonly filter: FilterNode | undefined;
  readonly subAttribute: AttributeDefinition | undefined;
}

/** Adds values to a multi-valued attribute: an equal value is merged into, not repeated. */
function addElements(definition: AttributeDefinition, existing: unknown[], added: unknown[]): unknown[] {
  const result = [...existing];
  const written = new Set<unknown>();
  for (const element of added) {
    const at = result.findIndex((candidate) => sameElement(definition, candidate, element));
    const merged = at >= 0 && isJsonObject(result[at]) && isJsonObject(element) ? { ...result[at], ...element } : element;
    if (at >= 0) result[at] = merged;
    else result.push(merged);
    written.add(merged);
  }
  return keepOnePrimary(result, written);
}

/** Whole attribute, no filter, no sub-attribute. */
function applyWhole(container: JsonObject, target: AttributeTarget, op: PatchOpName, value: unknown): void {
  const definition = target.attribute.attribute;
  const path = target.attribute.path;
  const existing = readKey(container, definition.name);
  if (op === "remove") {
    if (definition.multiValued && value !== undefined && value !== null) {
      // Entra removes members as {"op":"Remove","path":"members","value":[{"value":"…"}]}: only those go.
      const removed = normalizeValue(definition, value, path) as unknown[];
      const kept = asElements(existing).filter((element) => !removed.some((gone) => sameElement(definition, element, gone)));
      writeElements(container, definition.name, kept);
    } else {
      removeKey(container, definition.name);
    }
    return;
  }
  if (value === null) {
    if (op === "replace") removeKey(container, definition.name);
    return;
  }
  if (definition.multiValued) {
    const values = normalizeValue(definition, value, path) as unknown[];
    const next = op === "add" ? addElements(definition, asElements(existing), values) : keepOnePrimary(values, new Set(values));
    writeElements(container, definition.name, next);
  } else if (definition.type === "complex") {
    // RFC 7644 §3.5.2.1/3: sub-attributes not given are left unchanged.
    const base = isJsonObject(existing) ? existing : {};
    writeKey(container, definition.name, { ...base, ...normalizeComplex(definition, value, path) });
  } else {
    writeKey(container, definition.name, normalizeScalar(definition, value, path));
  }
}

function assertMutable(sub: AttributeDefinition, element: JsonObject, next: unknown, path: string): void {
  const current = element[sub.name];
  if (sub.mutability === "immutable" && current !== undefined && !isDeepStrictEqual(current, next)) {
    throw new MutabilityError(`${path} is immutable and cannot be changed.`);
  }
}

/** Sets or clears a sub-attribute on one element. */
function writeSub(element: JsonObject, sub: AttributeDefinition, op: PatchOpName, value: unknown, path: string): JsonObject {
  const copy = { ...element };
  if (op === "remove" || value === null) {
    delete copy[sub.name];
    return copy;
  }
  const next = normalizeScalar(sub, value, path);
  assertMutable(sub, element, next, path);
  copy[sub.name] = next;
  return copy;
}

/**
 * The value an add or replace creates when its path selects no existing value. RFC 7644 §3.5.2.3
 * answers noTarget when a value filter on a multi-valued attribute matches nothing; Entra, though,
 * sets `emails[type eq "work"].value` (or `addresses[type eq "work"].locality`) on a user that has
 * no work email yet and expects the value to be created. So a value is created only in that
 * shape: a filter made of `eq` tests, a sub-attribute after it, and a result that holds the
 * attribute's `value` where it has one (never an email without an address). Everything else
 * that would create a value from a filter is noTarget.
 */
function elementForNoMatch(target: AttributeTarget, value: unknown, path: string): JsonObject {
  const definition = target.attribute.attribute;
  const { filter, subAttribute: sub } = target;
  const noTarget = () => new NoTargetError(`No value of ${target.attribute.path} matches the filter in the PATCH path.`);
  const template = filter ? elementFromFilter(definition, filter) : {};
  if (!template) throw noTarget();
  const created = sub ? { ...template, [sub.name]: normalizeScalar(sub, value, path) } : { ...template, ...normalizeComplex(definition, value, path) };
  if (definition.multiValued) {
    if (filter && !sub) throw noTarget();
    const needsValue = definition.subAttributes?.some((candidate) => candidate.name === "value") ?? false;
    if (needsValue && (created.value === undefined || created.value === "")) {
      throw new NoTargetError(`No value of ${target.attribute.path} matches the PATCH path, and a new one would have no "value".`);
    }
  }
  return created;
}

/** Applies an operation to the elements selected by a filter (or all elements), creating one when Entra expects it. */
function applyToElements(container: JsonObject, target: AttributeTarget, op: PatchOpName, value: unknown): void {
  const definition = target.attribute.attribute;
  const { filter, subAttribute: sub } = target;
  const path = sub ? `${target.attribute.path}.${sub.name}` : target.attribute.path;
  const existing = readKey(container, definition.name);
  // A single complex attribute is one element; a malformed non-object value is overwritten, not kept.
  const elements = definition.multiValued ? asElements(existing) : isJsonObject(existing) ? [existing] : [];
  const selected = (element: unknown): element is JsonObject =>
    isJsonObject(element) && (!filter || matchesFilter(filter, element, target.resourceType, target.attribute.path));
  const written = new Set<unknown>();
  let matched = 0;
  const next: unknown[] = [];
  for (const element of elements) {
    if (!selected(element)) {
      next.push(element);
      continue;
    }
    matched++;
    // Removing, or replacing with null, a whole selected value drops it (RFC 7643 §2.5: null is unassigned).
    if ((op === "remove" || value === null) && !sub) continue;
    let updated: unknown;
    if (sub) updated = writeSub(element, sub, op, value, path);
    else if (op === "replace") updated = normalizeComplex(definition, value, path);
    else updated = { ...element, ...normalizeComplex(definition, value, path) };
    written.add(updated);
    next.push(updated);
  }
  if (matched === 0 && op !== "remove" && value !== null) {
    const created = elementForNoMatch(target, value, path);
    written.add(created);
    next.push(created);
  }
  const result = keepOnePrimary(next, written);
  if (definition.multiValued) writeElements(container, definition.name, result);
  else if (result[0] === undefined || (isJsonObject(result[0]) && Object.keys(result[0]).length === 0)) removeKey(container, definition.name);
  else writeKey(container, definition.name, result[0]);
}

/** Applies add, replace or remove to one attribute of the (already cloned) resource. */
export function applyToAttribute(document: JsonObject, target: AttributeTarget, op: PatchOpName, value: unknown): void {
  const container = containerFor(document, target.attribute, op !== "remove");
  if (!container) return;
  if (!target.filter && !target.subAttribute) applyWhole(container, target, op, value);
  else applyToElements(container, target, op, value);
}
