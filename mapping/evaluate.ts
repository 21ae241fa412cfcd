import { isRecord } from "./attributes.ts";
import { coerce, type Coerced } from "./coerce.ts";
import { initialFields } from "./defaults.ts";
import type {
  CompiledEntry,
  CompiledMapping,
  Destination,
  MappedFields,
  MappingEntryError,
  MappingResult,
  RenderBudget,
  ScimUserLike,
} from "./types.ts";

/**
 * Wall-clock budget for all templates of one evaluation, so a mapping made of many slow (but
 * individually limited) templates still answers in well under a second.
 */
export const EVALUATION_BUDGET_MS = 250;

/** Maps a SCIM user to app fields; synchronous, and never throws: failures land in `errors`. */
export function evaluateMapping(mapping: CompiledMapping, user: ScimUserLike): MappingResult {
  const fields = initialFields();
  const errors: MappingEntryError[] = [];
  try {
    const root: ScimUserLike = isRecord(user) ? user : {};
    const budget = new EvaluationBudget();
    for (const { destination, candidates } of mapping.plan) {
      for (const entry of candidates) {
        const outcome = resolve(entry, destination, root, budget);
        if (outcome.kind === "value") {
          assign(fields, destination, outcome.value);
          break;
        }
        if (outcome.kind === "error" && !isDefaultEmailCandidate(entry, destination)) {
          errors.push({ key: entry.key, destination: destination.name, message: outcome.message });
        }
      }
    }
  } catch (error) {
    errors.push({ key: "", destination: "", message: `the mapping could not be evaluated: ${describe(error)}` });
  }
  return { fields, errors };
}

// Skipping a non-email default is how the email precedence rule works, so it is not an error.
function isDefaultEmailCandidate(entry: CompiledEntry, destination: Destination): boolean {
  return entry.origin === "default" && destination.kind === "field" && destination.field === "email_address";
}

// The clock starts at the first full liquidjs render: reading the time costs as much as a
// direct-path template, and the direct path does bounded work.
class EvaluationBudget implements RenderBudget {
  private deadline: number | undefined;

  remainingMs(): number {
    const now = performance.now();
    this.deadline ??= now + EVALUATION_BUDGET_MS;
    return this.deadline - now;
  }
}

function resolve(entry: CompiledEntry, destination: Destination, user: ScimUserLike, budget: RenderBudget): Coerced {
  let value: unknown;
  try {
    value = entry.read(user);
  } catch (error) {
    return { kind: "error", message: `the source could not be read: ${describe(error)}` };
  }
  if (entry.template === null) return coerce(destination, value, false);
  let output: string;
  try {
    output = entry.template.render(value, user, budget);
  } catch (error) {
    return { kind: "error", message: `the template failed: ${describe(error)}` };
  }
  return coerce(destination, output.trim(), true);
}

function assign(fields: MappedFields, destination: Destination, value: unknown): void {
  if (destination.kind === "metadata") {
    let target = fields[destination.bucket];
    const last = destination.path.length - 1;
    for (let i = 0; i < last; i++) {
      const key = destination.path[i] ?? "";
      const next = target[key];
      if (isRecord(next)) {
        target = next;
      } else {
        const created: Record<string, unknown> = {};
        target[key] = created;
        target = created;
      }
    }
    target[destination.path[last] ?? ""] = value;
    return;
  }
  switch (destination.field) {
    case "active":
      if (typeof value === "boolean") fields.active = value;
      return;
    case "organization_role":
      if (typeof value === "string") fields.organization_role = value;
      return;
    default:
      if (typeof value === "string") fields[destination.field] = value;
  }
}

function describe(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
