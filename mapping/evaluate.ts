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
 * Wall-clock budget for all templates of one evaluation: evaluation is synchronous, so this is
 * also the longest one user's mapping can hold the event loop (a mapping made of many slow, but
 * individually limited, templates). It was 250 ms; 100 ms is one template's 50 ms limit plus its
 * one retry (a render cut short by a GC pause or a busy host), and legitimate templates render in
 * microseconds.
 */
export const EVALUATION_BUDGET_MS = 100;

/**
 * The time all evaluations of one request may spend in full liquidjs renders. A group push that
 * re-maps 10,000 members under a slow mapping used to spend 250 ms on each; with a request budget,
 * once it is spent the remaining templates fail at once ("skipped: … budget") and the mapping's
 * fallbacks apply, recorded in mapping_errors, which the reconciler's mapping-drift repair re-maps later.
 */
export class MappingRequestBudget {
  private spentMs = 0;

  constructor(readonly totalMs: number) {}

  remainingMs(): number {
    return this.totalMs - this.spentMs;
  }

  charge(ms: number): void {
    this.spentMs += ms;
  }
}

/**
 * Maps a SCIM user to app fields; synchronous, and never throws: failures land in `errors`.
 * `request` is the budget shared by every evaluation of one request (none: this evaluation's own).
 */
export function evaluateMapping(mapping: CompiledMapping, user: ScimUserLike, request?: MappingRequestBudget): MappingResult {
  const fields = initialFields();
  const errors: MappingEntryError[] = [];
  const budget = new EvaluationBudget(request);
  try {
    const root: ScimUserLike = isRecord(user) ? user : {};
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
  budget.settle();
  return { fields, errors };
}

// Skipping a non-email default is how the email precedence rule works, so it is not an error.
function isDefaultEmailCandidate(entry: CompiledEntry, destination: Destination): boolean {
  return entry.origin === "default" && destination.kind === "field" && destination.field === "email_address";
}

// The clock starts at the first full liquidjs render: reading the time costs as much as a
// direct-path template, and the direct path does bounded work.
class EvaluationBudget implements RenderBudget {
  private started: number | undefined;

  constructor(private readonly request: MappingRequestBudget | undefined) {}

  remainingMs(): number {
    const now = performance.now();
    this.started ??= now;
    const elapsed = now - this.started;
    const own = EVALUATION_BUDGET_MS - elapsed;
    return this.request === undefined ? own : Math.min(own, this.request.remainingMs() - elapsed);
  }

  /** Charges the time since the first full render to the request's budget. */
  settle(): void {
    if (this.request !== undefined && this.started !== undefined) this.request.charge(performance.now() - this.started);
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
