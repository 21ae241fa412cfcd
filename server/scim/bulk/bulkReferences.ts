import type { BulkOperation } from "./bulkRequest.ts";

/**
 * RFC 7644 §3.7.2: a client names a resource created earlier in the same Bulk request by
 * `bulkId:<bulkId>`, in the path (`/Groups/bulkId:g1`) or as a value in the data
 * (`members[].value`, `manager.value`, a PATCH value). Here a reference is a string value that is
 * exactly `bulkId:<id>` (surrounding spaces ignored, as member values are trimmed); a reference
 * inside a longer string, such as a PATCH filter `members[value eq "bulkId:u1"]`, is not resolved.
 */
const PREFIX = "bulkId:";

/** The bulkId a string refers to, or undefined when it is no reference. */
export function referenceOf(value: string): string | undefined {
  const trimmed = value.trim();
  return trimmed.startsWith(PREFIX) && trimmed.length > PREFIX.length ? trimmed.slice(PREFIX.length) : undefined;
}

/**
 * Every bulkId an operation refers to, in its target and anywhere in its data. The body was
 * depth-checked (32 levels) by the JSON reader, and the walk uses an explicit stack anyway.
 */
export function referencesOf(operation: Pick<BulkOperation, "target" | "data">): Set<string> {
  const found = new Set<string>();
  const note = (value: string) => {
    const id = referenceOf(value);
    if (id !== undefined) found.add(id);
  };
  if (operation.target !== undefined) note(operation.target);
  const stack: unknown[] = [operation.data];
  while (stack.length > 0) {
    const value = stack.pop();
    if (typeof value === "string") note(value);
    else if (Array.isArray(value)) for (const item of value) stack.push(item);
    else if (value !== null && typeof value === "object") for (const item of Object.values(value)) stack.push(item);
  }
  return found;
}

/** A copy of `value` with every reference replaced by the id its operation created. */
export function substituteReferences(value: unknown, createdIds: ReadonlyMap<string, string>): unknown {
  if (typeof value === "string") {
    const id = referenceOf(value);
    return id === undefined ? value : createdIds.get(id) ?? value;
  }
  if (Array.isArray(value)) return value.map((item) => substituteReferences(item, createdIds));
  if (value !== null && typeof value === "object") {
    const copy: Record<string, unknown> = {};
    for (const [key, item] of Object.entries(value)) copy[key] = substituteReferences(item, createdIds);
    return copy;
  }
  return value;
}
