/** One line of a diff between two mapping documents, by source path. */
export type MappingChange =
  | { kind: "added"; key: string; after: unknown }
  | { kind: "removed"; key: string; before: unknown }
  | { kind: "changed"; key: string; before: unknown; after: unknown };

/** The entries that differ between two mapping documents, sorted by source path. Pure. */
export function diffMappings(before: Record<string, unknown>, after: Record<string, unknown>): MappingChange[] {
  const keys = [...new Set([...Object.keys(before), ...Object.keys(after)])].sort();
  const changes: MappingChange[] = [];
  for (const key of keys) {
    const had = Object.hasOwn(before, key);
    const has = Object.hasOwn(after, key);
    if (had && !has) changes.push({ kind: "removed", key, before: before[key] });
    else if (!had && has) changes.push({ kind: "added", key, after: after[key] });
    else if (JSON.stringify(before[key]) !== JSON.stringify(after[key])) changes.push({ kind: "changed", key, before: before[key], after: after[key] });
  }
  return changes;
}

/** The fields of two app users that differ (for the live preview's "would change" column). Pure. */
export function changedFields(current: Record<string, unknown>, proposed: Record<string, unknown>): Set<string> {
  const changed = new Set<string>();
  for (const key of new Set([...Object.keys(current), ...Object.keys(proposed)])) {
    if (JSON.stringify(current[key] ?? null) !== JSON.stringify(proposed[key] ?? null)) changed.add(key);
  }
  return changed;
}
