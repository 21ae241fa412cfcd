import { z } from "zod";
import { isRecord } from "./attributes.ts";
import { DEFAULT_ENTRIES } from "./defaults.ts";
import { SCALAR_FIELDS } from "./destination.ts";
import { compileEntry } from "./entry.ts";
import {
  MappingValidationError,
  type CompiledEntry,
  type CompiledMapping,
  type DestinationPlan,
  type MappingDocument,
  type MappingProblem,
  type ScalarField,
} from "./types.ts";

export const MAX_ENTRIES = 200;
export const MAX_VALUE_LENGTH = 4000;

const FIELD_ORDER: readonly ScalarField[] = SCALAR_FIELDS;

const documentSchema = z
  .record(
    z.string(),
    z
      .string({ error: 'must be a string: a destination or "<Liquid template>.<destination>"' })
      .max(MAX_VALUE_LENGTH, `the value is longer than ${MAX_VALUE_LENGTH} characters`),
    { error: "the mapping must be a JSON object of source path → destination" },
  )
  .check((ctx) => {
    const count = Object.keys(ctx.value).length;
    if (count > MAX_ENTRIES) {
      ctx.issues.push({ code: "custom", message: `the mapping has ${count} entries; at most ${MAX_ENTRIES} are allowed`, input: ctx.value });
    }
  });

/** Validates a mapping document (every problem at once) and compiles it together with the defaults it does not override. */
export function compileMapping(document: unknown): CompiledMapping {
  const problems: MappingProblem[] = [];
  const shape = documentSchema.safeParse(document);
  if (!shape.success) {
    for (const issue of shape.error.issues) problems.push({ key: issue.path.length > 0 ? String(issue.path[0]) : "", message: issue.message });
  }
  if (!isRecord(document)) throw new MappingValidationError(problems);

  const org: { entry: CompiledEntry; canonical: string }[] = [];
  const claimedBy = new Map<string, string>();
  const keys = Object.keys(document);
  for (const key of keys) {
    const value = document[key];
    if (typeof value !== "string" || value.length > MAX_VALUE_LENGTH) continue;
    const compiled = compileEntry(key, value, "organization");
    if (!compiled.ok) {
      for (const message of compiled.messages) problems.push({ key, message });
      continue;
    }
    const clash = findClash(compiled.entry, claimedBy);
    if (clash !== undefined) {
      problems.push({ key, message: clash });
      continue;
    }
    claimedBy.set(compiled.entry.destination.name, key);
    org.push(compiled);
  }
  if (problems.length > 0) {
    const order = (key: string) => (key === "" ? -1 : keys.indexOf(key));
    throw new MappingValidationError(problems.sort((a, b) => order(a.key) - order(b.key)));
  }

  const overridden = new Set(org.map((o) => o.canonical));
  const defaults = DEFAULT_ENTRIES.filter((d) => !overridden.has(d.canonical)).map((d) => d.entry);
  const entries = [...org.map((o) => o.entry), ...defaults];
  return Object.freeze({
    entries: Object.freeze(entries),
    plan: Object.freeze(buildPlan(entries)),
    document: Object.freeze(Object.fromEntries(Object.entries(document as MappingDocument))),
  });
}

/**
 * One source per destination keeps the outcome independent of key order (which JSONB storage
 * does not preserve); a nested metadata key must not overwrite a sibling mapping's value.
 */
function findClash(entry: CompiledEntry, claimedBy: ReadonlyMap<string, string>): string | undefined {
  const name = entry.destination.name;
  const same = claimedBy.get(name);
  if (same !== undefined) {
    return `"${name}" is already mapped from "${same}"; map each destination from one source path (a template with "default" can fall back to another attribute)`;
  }
  if (entry.destination.kind !== "metadata") return undefined;
  for (const [other, otherKey] of claimedBy) {
    if (other.startsWith(`${name}.`) || name.startsWith(`${other}.`)) {
      return `"${name}" overlaps "${other}" (mapped from "${otherKey}"); one metadata key cannot be both a value and an object`;
    }
  }
  return undefined;
}

// Scalar fields first in a fixed order, then metadata in document order; within a destination
// the candidates keep entry order, which is org entries first, then defaults in precedence order.
function buildPlan(entries: readonly CompiledEntry[]): DestinationPlan[] {
  const groups = new Map<string, { destination: CompiledEntry["destination"]; candidates: CompiledEntry[] }>();
  for (const entry of entries) {
    const group = groups.get(entry.destination.name);
    if (group) group.candidates.push(entry);
    else groups.set(entry.destination.name, { destination: entry.destination, candidates: [entry] });
  }
  const rank = (plan: DestinationPlan) => {
    const index = FIELD_ORDER.indexOf(plan.destination.name as ScalarField);
    return index === -1 ? FIELD_ORDER.length : index;
  };
  return [...groups.values()]
    .map(({ destination, candidates }) => ({ destination, candidates: Object.freeze(candidates) }))
    .sort((a, b) => rank(a) - rank(b));
}
