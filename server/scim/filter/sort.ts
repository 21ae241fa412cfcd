import { InvalidFilterError, ValidationError } from "../../errors.ts";
import { findAttribute } from "../schemas/registry.ts";
import { resolveAttribute, type ResolvedAttribute } from "../schemas/resolve.ts";
import type { ResourceType } from "../schemas/types.ts";
import { attributeJson, columnFor, elementOperand, relationFor, scalarOperand, type Operand } from "./sqlOperands.ts";

function invalidSort(sortBy: string, reason: string): never {
  throw new ValidationError(`sortBy "${sortBy}" ${reason}.`, { field: "sortBy" }, "invalidValue");
}

function ordered(operand: Operand): string {
  const isText = operand.columnType === "text" || operand.json !== undefined;
  return isText && !operand.definition.caseExact ? `lower(${operand.text})` : operand.text;
}

/** RFC 7644 §3.4.2.3: a multi-valued attribute sorts by its primary value, else its first. */
function multiValuedKey(resourceType: ResourceType, resolved: ResolvedAttribute, sortBy: string): string {
  const sub = resolved.subAttribute ?? findAttribute(resolved.attribute.subAttributes, "value");
  if (resolved.attribute.type === "complex" && !sub) invalidSort(sortBy, "names a complex attribute without a value");
  const element = elementOperand(resolved.attribute, sub);
  const json = attributeJson(resourceType, resolved);
  return `(SELECT ${ordered(element)} FROM jsonb_array_elements(CASE WHEN jsonb_typeof(${json}) = 'array' THEN ${json} ELSE '[]'::jsonb END) WITH ORDINALITY AS e(v, i) ORDER BY lower(e.v->>'primary') = 'true' DESC NULLS LAST, e.i LIMIT 1)`;
}

/**
 * The ORDER BY expression for a SCIM `sortBy` (without direction; add the id as a tiebreak).
 * Throws ValidationError (invalidValue) for an attribute that is unknown or cannot be sorted on.
 */
export function sortSqlFor(sortBy: string, resourceType: ResourceType): string {
  const resolved = resolveAttribute(resourceType, sortBy);
  if (!resolved) invalidSort(sortBy, `is not an attribute of ${resourceType}`);
  if (resolved.definition.returned === "never") invalidSort(sortBy, "cannot be sorted on");
  // Members and a user's groups live in team_memberships, not in the stored resource.
  if (relationFor(resourceType, resolved)) invalidSort(sortBy, "cannot be sorted on");
  try {
    if (resolved.attribute.multiValued && !columnFor(resourceType, resolved)) {
      return multiValuedKey(resourceType, resolved, sortBy);
    }
    if (resolved.definition.type === "complex") invalidSort(sortBy, "names a complex attribute; name a sub-attribute");
    return ordered(scalarOperand(resourceType, resolved));
  } catch (error) {
    if (error instanceof InvalidFilterError) invalidSort(sortBy, "cannot be sorted on");
    throw error;
  }
}
