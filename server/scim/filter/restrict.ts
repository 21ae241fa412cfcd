import { resolveAttribute } from "../schemas/resolve.ts";
import type { ResourceType } from "../schemas/types.ts";
import { matchesFilter } from "./match.ts";
import type { FilterNode } from "./types.ts";

/** Whether a comparison or `pr` names meta.resourceType, which the root search knows per type without reading a row. */
function namesResourceType(node: FilterNode, resourceType: ResourceType): boolean {
  if (node.op === "[]" || !("attrPath" in node)) return false;
  const resolved = resolveAttribute(resourceType, node.attrPath);
  return resolved?.attribute.name === "meta" && resolved.subAttribute?.name === "resourceType";
}

/**
 * A filter of the root `POST /.search` (RFC 7644 §3.4.3) seen from one resource type. The search
 * spans Users and Groups, and an attribute a type does not define simply does not match there:
 * each comparison, `pr` or value filter (`emails[…]`) on such an attribute becomes false, and the
 * logic around it is simplified (`and` with false is false, `or` drops it, `not` turns it true).
 * `meta.resourceType` (which a row does not store) is the type's name, so
 * `meta.resourceType eq "Group"` is a constant per type: the way to ask for one type only.
 * The answer is the filter that is left, or a constant: false (no resource of this type can
 * match: skip the type), true (every resource of this type matches).
 */
export function restrictFilterTo(node: FilterNode, resourceType: ResourceType): FilterNode | boolean {
  switch (node.op) {
    case "and": {
      const kept: FilterNode[] = [];
      for (const child of node.filters) {
        const restricted = restrictFilterTo(child, resourceType);
        if (restricted === false) return false;
        if (restricted !== true) kept.push(restricted);
      }
      return kept.length === 0 ? true : kept.length === 1 ? kept[0]! : { op: "and", filters: kept };
    }
    case "or": {
      const kept: FilterNode[] = [];
      for (const child of node.filters) {
        const restricted = restrictFilterTo(child, resourceType);
        if (restricted === true) return true;
        if (restricted !== false) kept.push(restricted);
      }
      return kept.length === 0 ? false : kept.length === 1 ? kept[0]! : { op: "or", filters: kept };
    }
    case "not": {
      const restricted = restrictFilterTo(node.filter, resourceType);
      return typeof restricted === "boolean" ? !restricted : { op: "not", filter: restricted };
    }
    default:
      if (namesResourceType(node, resourceType)) return matchesFilter(node, { meta: { resourceType } }, resourceType);
      // A comparison, `pr` or value filter: it stands or falls with its attribute (a value filter's
      // inner paths are relative to that attribute, already checked when the filter was parsed).
      return resolveAttribute(resourceType, node.attrPath) === undefined ? false : node;
  }
}
