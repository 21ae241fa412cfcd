import { coreAttributesFor, coreSchemaFor, extensionSchemasFor, findAttribute } from "./registry.ts";
import type { AttributeDefinition, ResourceType, SchemaDefinition } from "./types.ts";

/** An attribute path resolved against the schemas of a resource type. */
export interface ResolvedAttribute {
  /** The extension schema URN when the attribute lives under an extension key; undefined for core and common attributes. */
  readonly extension: string | undefined;
  /** The top-level attribute. */
  readonly attribute: AttributeDefinition;
  /** The sub-attribute, when the path names one (`name.familyName`). */
  readonly subAttribute: AttributeDefinition | undefined;
  /** The definition of what the path designates: the sub-attribute if any, else the attribute. */
  readonly definition: AttributeDefinition;
  /** Canonical spelling: `name.familyName`, `urn:…:enterprise:2.0:User:manager.value`. */
  readonly path: string;
}

interface SchemaPrefix {
  readonly schema: SchemaDefinition;
  readonly isExtension: boolean;
  readonly rest: string;
}

/**
 * Splits a leading schema URN off a path. The URN itself contains dots ("2.0"), so it is found by
 * prefix against the known URNs, accepting both `URN:attr` (RFC 7644 §3.10) and `URN.attr`
 * (what some IdPs and mapping files write).
 */
function splitSchemaPrefix(resourceType: ResourceType, path: string): SchemaPrefix | undefined {
  const lower = path.toLowerCase();
  const candidates: Array<{ schema: SchemaDefinition; isExtension: boolean }> = [
    { schema: coreSchemaFor(resourceType), isExtension: false },
    ...extensionSchemasFor(resourceType).map((schema) => ({ schema, isExtension: true })),
  ];
  for (const { schema, isExtension } of candidates) {
    const urn = schema.id.toLowerCase();
    const separator = lower.charAt(urn.length);
    if (lower.startsWith(urn) && (separator === ":" || separator === ".")) {
      return { schema, isExtension, rest: path.slice(urn.length + 1) };
    }
  }
  return undefined;
}

// Schemas never change at run time, so a path resolves the same way every time. The PATCH
// value-filter matcher resolves once per value per operation: 50 filtered operations on 100 emails
// spent most of their 1.5 s here. Cleared when full, so unknown keys cannot grow it without bound.
const RESOLVED_CACHE_SIZE = 4096;
const resolvedCache = new Map<string, ResolvedAttribute | undefined>();

/** Resolves `attr`, `attr.sub` or a URN-prefixed path to its canonical definition; undefined when unknown. */
export function resolveAttribute(resourceType: ResourceType, path: string): ResolvedAttribute | undefined {
  const key = `${resourceType}\u0000${path}`;
  if (resolvedCache.has(key)) return resolvedCache.get(key);
  const resolved = resolveUncached(resourceType, path);
  if (resolvedCache.size >= RESOLVED_CACHE_SIZE) resolvedCache.clear();
  resolvedCache.set(key, resolved);
  return resolved;
}

function resolveUncached(resourceType: ResourceType, path: string): ResolvedAttribute | undefined {
  const prefix = splitSchemaPrefix(resourceType, path.trim());
  const rest = prefix ? prefix.rest : path.trim();
  const segments = rest.split(".");
  if (segments.length > 2 || segments.some((segment) => segment.length === 0)) return undefined;
  const [attributeName, subAttributeName] = segments as [string, string | undefined];

  const isExtension = prefix?.isExtension ?? false;
  const topLevel = isExtension && prefix ? prefix.schema.attributes : coreAttributesFor(resourceType);
  const attribute = findAttribute(topLevel, attributeName);
  if (!attribute) return undefined;

  let subAttribute: AttributeDefinition | undefined;
  if (subAttributeName !== undefined) {
    subAttribute = findAttribute(attribute.subAttributes, subAttributeName);
    if (!subAttribute) return undefined;
  }
  const extension = isExtension && prefix ? prefix.schema.id : undefined;
  const base = extension ? `${extension}:${attribute.name}` : attribute.name;
  return {
    extension,
    attribute,
    subAttribute,
    definition: subAttribute ?? attribute,
    path: subAttribute ? `${base}.${subAttribute.name}` : base,
  };
}
