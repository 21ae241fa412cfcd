import type { FilterNode } from "./filter/types.ts";

const CORE_USER_URN = "urn:ietf:params:scim:schemas:core:2.0:user:";

/**
 * userName is stored in Unicode NFC (server/scim/userInput.ts), so a filter value is compared in
 * NFC too: `userName eq "josé"` finds the user whether the IdP sent the é composed or decomposed.
 */
export function normalizeUserNameFilter(node: FilterNode): FilterNode {
  switch (node.op) {
    case "and":
    case "or":
      return { ...node, filters: node.filters.map(normalizeUserNameFilter) };
    case "not":
      return { ...node, filter: normalizeUserNameFilter(node.filter) };
    case "[]":
    case "pr":
      return node;
    default: {
      const path = node.attrPath.toLowerCase();
      const attribute = path.startsWith(CORE_USER_URN) ? path.slice(CORE_USER_URN.length) : path;
      if (attribute !== "username" || typeof node.compValue !== "string") return node;
      return { ...node, compValue: node.compValue.normalize("NFC") };
    }
  }
}
