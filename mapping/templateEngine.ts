import { CaptureTag, Liquid, filters, type Context, type Template } from "liquidjs";
import { compileFastPath } from "./fastTemplate.ts";
import { roleProblem, syntaxProblem } from "./templateChecks.ts";
import type { CompiledTemplate, RenderBudget, ScimUserLike } from "./types.ts";

/** Longest string a template may produce; longer output is an evaluation error. */
export const TEMPLATE_OUTPUT_LIMIT = 4096;
/** Wall-clock budget of one template render, in milliseconds. */
export const TEMPLATE_RENDER_LIMIT_MS = 50;

// Counted by liquidjs in characters/array slots created; legitimate mapping templates use a few
// hundred, while `(1..100000000)` or doubling a string with `append` trips it at once.
const MEMORY_LIMIT = 1_000_000;
const PARSE_LIMIT = 10_000;
const FORBIDDEN_TAGS = ["include", "render", "layout"] as const;

// Templates with tags (`case` on a group name, say) go through liquidjs's full renderer at
// several microseconds each; they mostly see low-cardinality values, so their output is memoized.
// Small bounds keep the worst case (200 templates × 32 entries per cached mapping) a few MB.
const MEMO_CAPACITY = 32;
const MEMO_KEY_LIMIT = 64;
const MEMO_OUTPUT_LIMIT = 128;
// Output that could depend on more than `value` (the user, the clock, randomness) is never memoized.
const NOT_MEMOIZABLE = /user|date|sample/i;

const engine = new Liquid({
  strictFilters: true,
  ownPropertyOnly: true,
  parseLimit: PARSE_LIMIT,
  renderLimit: TEMPLATE_RENDER_LIMIT_MS,
  memoryLimit: MEMORY_LIMIT,
  // An in-memory, empty template store: nothing can ever be read from the file system.
  templates: {},
});
for (const name of FORBIDDEN_TAGS) {
  engine.registerTag(name, {
    parse() {
      throw new Error(`the "${name}" tag is not allowed: mapping templates cannot load other templates`);
    },
    render() {
      return "";
    },
  });
}

/**
 * liquidjs does not count what `{% capture %}` stores, so doubling a string through capture grew
 * past the memory limit unchecked (575 MB). This capture charges the captured text to the limit.
 */
class ChargedCaptureTag extends CaptureTag {
  override *render(ctx: Context): Generator<unknown, void, string> {
    yield* super.render(ctx);
    const captured = ctx.bottom()[this.variable];
    if (typeof captured === "string") ctx.memoryLimit.use(captured.length);
  }
}
engine.registerTag("capture", ChargedCaptureTag);

/**
 * liquidjs's `replace` splits the string (one array slot per match, a character each for an empty
 * pattern) before it charges the output size. This one counts the matches without allocating,
 * charges the output size, and only then builds the string; the result is liquidjs's own.
 */
function chargedReplace(this: { context: Context }, input: unknown, pattern: unknown, replacement: unknown): string {
  if (typeof input !== "string" || typeof pattern !== "string" || typeof replacement !== "string") {
    return (filters.replace as (this: unknown, ...args: unknown[]) => string).call(this, input, pattern, replacement);
  }
  let separators = 0;
  if (pattern === "") separators = Math.max(0, input.length - 1);
  else for (let at = input.indexOf(pattern); at !== -1; at = input.indexOf(pattern, at + pattern.length)) separators++;
  // The split array (one slot per piece) and the output, whichever is larger.
  this.context.memoryLimit.use(Math.max(separators, input.length + separators * (replacement.length - pattern.length)));
  return input.split(pattern).join(replacement);
}
engine.registerFilter("replace", chargedReplace);

export type TemplateCompilation = { ok: true; template: CompiledTemplate } | { ok: false; message: string };

/** Parses a template once in the sandbox; `forRole` adds the organization_role literal checks. */
export function compileTemplate(source: string, forRole: boolean): TemplateCompilation {
  let templates: Template[];
  try {
    templates = engine.parse(source);
  } catch (error) {
    return { ok: false, message: `the Liquid template is invalid: ${describe(error)}` };
  }
  const problem = syntaxProblem(templates) ?? (forRole ? roleProblem(templates) : undefined);
  if (problem !== undefined) return { ok: false, message: problem };
  const fast = compileFastPath(engine, templates);
  const renderOnce = (value: unknown, user: ScimUserLike, budget: RenderBudget): string => {
    let text: string | undefined;
    if (fast !== undefined) {
      try {
        text = fast(value, user);
      } catch {
        // Let liquidjs render it to report the error in its own words (with line and column).
        text = undefined;
      }
    }
    text ??= renderFully(templates, value, user, budget);
    if (text.length > TEMPLATE_OUTPUT_LIMIT) throw new Error(`the template output is longer than ${TEMPLATE_OUTPUT_LIMIT} characters`);
    return text;
  };
  // The direct path is already cheaper than a memo lookup would save.
  if (fast !== undefined || NOT_MEMOIZABLE.test(source)) return { ok: true, template: { source, render: renderOnce } };
  const memo = new Map<string, string>();
  const render = (value: unknown, user: ScimUserLike, budget: RenderBudget): string => {
    const key = memoKey(value);
    if (key === undefined) return renderOnce(value, user, budget);
    const hit = memo.get(key);
    if (hit !== undefined) return hit;
    const text = renderOnce(value, user, budget);
    if (text.length <= MEMO_OUTPUT_LIMIT) {
      if (memo.size >= MEMO_CAPACITY) memo.clear();
      memo.set(key, text);
    }
    return text;
  };
  return { ok: true, template: { source, render } };
}

/**
 * liquidjs's render limit is wall-clock time, so a GC pause or a busy host can trip it for a
 * harmless template. A failure that took the whole limit is retried once: that makes a spurious
 * failure unlikely, and a runaway template still stops after two limits (100 ms).
 */
function renderFully(templates: Template[], value: unknown, user: ScimUserLike, budget: RenderBudget): string {
  const available = budget.remainingMs();
  if (available <= 0) throw new Error("skipped: the mapping used up its evaluation budget");
  const limit = Math.min(TEMPLATE_RENDER_LIMIT_MS, available);
  try {
    return String(engine.renderSync(templates, { value, user }, { renderLimit: limit }));
  } catch (error) {
    const remaining = budget.remainingMs();
    if (available - remaining < limit || remaining <= 0) throw error;
    return String(engine.renderSync(templates, { value, user }, { renderLimit: Math.min(TEMPLATE_RENDER_LIMIT_MS, remaining) }));
  }
}

function memoKey(value: unknown): string | undefined {
  switch (typeof value) {
    case "string":
      return value.length <= MEMO_KEY_LIMIT ? `s${value}` : undefined;
    case "number":
      return `n${value}`;
    case "boolean":
      return value ? "t" : "f";
    case "undefined":
      return "u";
    default:
      return value === null ? "u" : undefined;
  }
}

function describe(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
