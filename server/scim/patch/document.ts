import type { ResolvedAttribute } from "../schemas/resolve.ts";
import { isJsonObject, type JsonObject } from "../schemas/types.ts";

/**
 * Each object's keys grouped by their lower-case spelling, built once per object and kept up to
 * date by removeKey and writeKey. Without it every write scanned every key: a no-path PATCH of
 * 20,000 keys took minutes (quadratic); with it each lookup is one Map access. PATCH code changes
 * the keys of a document only through these functions (new objects are never indexed until read).
 */
const keyIndexes = new WeakMap<JsonObject, Map<string, string[]>>();
// Below this many keys a scan is cheaper than building an index (most values: an email, a name).
const INDEX_FROM_KEYS = 32;

function keyIndex(object: JsonObject): Map<string, string[]> | undefined {
  const existing = keyIndexes.get(object);
  if (existing) return existing;
  const keys = Object.keys(object);
  if (keys.length < INDEX_FROM_KEYS) return undefined;
  const index = new Map<string, string[]>();
  for (const key of keys) {
    const lower = key.toLowerCase();
    const spellings = index.get(lower);
    if (spellings) spellings.push(key);
    else index.set(lower, [key]);
  }
  keyIndexes.set(object, index);
  return index;
}

function spellingsOf(object: JsonObject, lower: string): string[] {
  const index = keyIndex(object);
  if (index) return index.get(lower) ?? [];
  return Object.keys(object).filter((key) => key.toLowerCase() === lower);
}

/** The key an object uses for an attribute name, matched case-insensitively; exact match first. */
export function findKey(object: JsonObject, name: string): string | undefined {
  if (Object.hasOwn(object, name)) return name;
  return spellingsOf(object, name.toLowerCase()).find((key) => Object.hasOwn(object, key));
}

/** Reads an attribute by name, ignoring case. */
export function readKey(object: JsonObject, name: string): unknown {
  const key = findKey(object, name);
  return key === undefined ? undefined : object[key];
}

/** Removes every spelling of an attribute name. */
export function removeKey(object: JsonObject, name: string): void {
  const wanted = name.toLowerCase();
  for (const key of spellingsOf(object, wanted)) delete object[key];
  keyIndexes.get(object)?.delete(wanted);
}

/** Writes an attribute under its canonical name, dropping other spellings of it. */
export function writeKey(object: JsonObject, name: string, value: unknown): void {
  removeKey(object, name);
  object[name] = value;
  keyIndexes.get(object)?.set(name.toLowerCase(), [name]);
}

/** Adds a schema URN to `schemas` when the resource lists them and lacks it. */
export function addSchema(document: JsonObject, urn: string): void {
  const schemas = document.schemas;
  if (!Array.isArray(schemas)) return;
  if (!schemas.some((schema) => typeof schema === "string" && schema.toLowerCase() === urn.toLowerCase())) {
    document.schemas = [...schemas, urn];
  }
}

/**
 * The object holding an attribute: the resource, or its extension object under the full URN
 * key (created, and the URN added to `schemas`, when `create` is set).
 */
export function containerFor(document: JsonObject, resolved: ResolvedAttribute, create: boolean): JsonObject | undefined {
  if (!resolved.extension) return document;
  const existing = readKey(document, resolved.extension);
  if (isJsonObject(existing)) {
    writeKey(document, resolved.extension, existing);
    return existing;
  }
  if (!create) return undefined;
  const created: JsonObject = {};
  writeKey(document, resolved.extension, created);
  addSchema(document, resolved.extension);
  return created;
}

/** The values of a multi-valued attribute as a list (a lone object counts as one value). */
export function asElements(value: unknown): unknown[] {
  if (Array.isArray(value)) return [...value];
  return value === undefined || value === null ? [] : [value];
}

/** Writes a multi-valued attribute; no values left means unassigned (RFC 7644 §3.5.2.2). */
export function writeElements(container: JsonObject, name: string, elements: unknown[]): void {
  if (elements.length === 0) removeKey(container, name);
  else writeKey(container, name, elements);
}
