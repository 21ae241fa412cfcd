import { InvalidPathError } from "../../errors.ts";
import { parseFilter } from "../filter/parse.ts";
import type { FilterNode } from "../filter/types.ts";
import { findAttribute, findExtensionSchema } from "../schemas/registry.ts";
import { resolveAttribute, type ResolvedAttribute } from "../schemas/resolve.ts";
import type { AttributeDefinition, ResourceType, SchemaDefinition } from "../schemas/types.ts";

/** A PATCH path (RFC 7644 §3.5.2: attrPath / valuePath [subAttr]) resolved against the schema. */
export type PatchPath =
  | { readonly kind: "extension"; readonly schema: SchemaDefinition }
  | {
      readonly kind: "attribute";
      /** The top-level attribute (never carrying a sub-attribute). */
      readonly attribute: ResolvedAttribute;
      /** The `[…]` value filter, if any. */
      readonly filter: FilterNode | undefined;
      /** The sub-attribute after the attribute or after the filter (`name.givenName`, `emails[…].value`). */
      readonly subAttribute: AttributeDefinition | undefined;
    };

/** Index of the `]` closing the `[` at `open`, skipping brackets inside quoted strings. */
function closingBracket(path: string, open: number): number {
  let inString = false;
  for (let i = open + 1; i < path.length; i++) {
    const character = path.charAt(i);
    if (inString) {
      if (character === "\\") i++;
      else if (character === '"') inString = false;
    } else if (character === '"') {
      inString = true;
    } else if (character === "]") {
      return i;
    }
  }
  return -1;
}

function topLevel(resolved: ResolvedAttribute): ResolvedAttribute {
  if (!resolved.subAttribute) return resolved;
  return { ...resolved, subAttribute: undefined, definition: resolved.attribute, path: resolved.path.replace(/\.[^.:]+$/, "") };
}

function unknownPath(path: string, resourceType: ResourceType): never {
  throw new InvalidPathError(`PATCH path "${path}" names no attribute of ${resourceType}.`);
}

/** Parses and resolves a PATCH path; an unknown attribute is invalidPath, a bad value filter invalidFilter. */
export function parsePatchPath(resourceType: ResourceType, rawPath: string): PatchPath {
  const path = rawPath.trim();
  const extension = findExtensionSchema(resourceType, path);
  if (extension) return { kind: "extension", schema: extension };

  const open = path.indexOf("[");
  if (open === -1) {
    const resolved = resolveAttribute(resourceType, path) ?? unknownPath(path, resourceType);
    return { kind: "attribute", attribute: topLevel(resolved), filter: undefined, subAttribute: resolved.subAttribute };
  }

  const close = closingBracket(path, open);
  if (close === -1) throw new InvalidPathError(`PATCH path "${path}" has an unclosed "[".`);
  const resolved = resolveAttribute(resourceType, path.slice(0, open)) ?? unknownPath(path, resourceType);
  if (resolved.subAttribute || resolved.attribute.type !== "complex") {
    throw new InvalidPathError(`PATCH path "${path}": a value filter needs a complex attribute.`);
  }
  const rest = path.slice(close + 1);
  let subAttribute: AttributeDefinition | undefined;
  if (rest !== "") {
    if (!rest.startsWith(".")) throw new InvalidPathError(`PATCH path "${path}": expected ".subAttribute" after "]".`);
    subAttribute = findAttribute(resolved.attribute.subAttributes, rest.slice(1));
    if (!subAttribute) throw new InvalidPathError(`PATCH path "${path}": ${resolved.path} has no sub-attribute "${rest.slice(1)}".`);
  }
  const filter = parseFilter(path.slice(open + 1, close), { resourceType, parent: resolved });
  return { kind: "attribute", attribute: resolved, filter, subAttribute };
}
