import { Context, Output, TypeGuards, type FilterImplOptions, type Liquid, type Template, type Token } from "liquidjs";

/**
 * Renders a template, or returns undefined when the result must come from liquidjs itself
 * (a value it stringifies specially, such as a list). Throws whatever a filter throws.
 */
export type FastRender = (value: unknown, user: unknown) => string | undefined;

/**
 * Filters that are synchronous, deterministic and touch nothing of their `this` but the
 * render context (memory limit, options); calling them directly gives liquidjs's own result.
 */
const DIRECT_FILTERS = new Set([
  "abs", "append", "at_least", "at_most", "capitalize", "ceil", "default", "divided_by", "downcase", "escape", "first",
  "floor", "join", "last", "lstrip", "minus", "modulo", "normalize_whitespace", "plus", "prepend", "remove",
  "remove_first", "remove_last", "replace", "replace_first", "replace_last", "round", "rstrip", "size", "slugify",
  "split", "squish", "strip", "strip_newlines", "times", "to_integer", "truncate", "truncatewords", "upcase",
  "url_decode", "url_encode", "xml_escape",
]);
// liquidjs answers these from the value's shape rather than its properties.
const SPECIAL_PROPERTIES = new Set(["size", "first", "last"]);

type Operand =
  | { readonly kind: "literal"; readonly value: string | number }
  | { readonly kind: "path"; readonly root: "value" | "user"; readonly keys: readonly (string | number)[] };
type FilterStep = { readonly handler: Function; readonly args: readonly Operand[] };
type Part = { readonly kind: "text"; readonly text: string } | { readonly kind: "output"; readonly initial: Operand; readonly filters: readonly FilterStep[] };
type Scope = { value: unknown; user: unknown };

/**
 * Rendering through liquidjs's generator machinery costs microseconds per template; most mapping
 * templates are text plus `{{ value | filter: "literal" }}` outputs, which this evaluates
 * directly with liquidjs's own filter functions. Anything else returns undefined at compile time.
 */
export function compileFastPath(engine: Liquid, templates: readonly Template[]): FastRender | undefined {
  const parts: Part[] = [];
  for (const template of templates) {
    const token = template.token;
    if (TypeGuards.isHTMLToken(token)) {
      parts.push({ kind: "text", text: token.getContent() });
      continue;
    }
    if (!(template instanceof Output)) return undefined;
    const postfix = template.value.initial.postfix;
    const initial = postfix.length === 1 ? toOperand(postfix[0]) : undefined;
    if (initial === undefined) return undefined;
    const filters: FilterStep[] = [];
    for (const filter of template.value.filters) {
      const handler = DIRECT_FILTERS.has(filter.name) ? handlerOf(engine.filters[filter.name]) : undefined;
      if (handler === undefined) return undefined;
      const args: Operand[] = [];
      for (const arg of filter.args) {
        const operand = Array.isArray(arg) ? undefined : toOperand(arg);
        if (operand === undefined) return undefined;
        args.push(operand);
      }
      filters.push({ handler, args });
    }
    parts.push({ kind: "output", initial, filters });
  }
  return (value, user) => {
    const scope: Scope = { value, user };
    let filterThis: { context: Context; liquid: Liquid } | undefined;
    let output = "";
    for (const part of parts) {
      if (part.kind === "text") {
        output += part.text;
        continue;
      }
      let current = read(part.initial, scope);
      for (const filter of part.filters) {
        // Created per render, as liquidjs does, so the memory limit counts this render only.
        filterThis ??= { context: new Context(scope, engine.options, { sync: true }, { liquid: engine }), liquid: engine };
        const argv: unknown[] = [current];
        for (const operand of filter.args) argv.push(read(operand, scope));
        current = Reflect.apply(filter.handler, filterThis, argv);
      }
      if (typeof current === "string") output += current;
      else if (typeof current === "number" || typeof current === "boolean") output += String(current);
      else if (current !== undefined && current !== null) return undefined;
    }
    return output;
  };
}

function handlerOf(options: FilterImplOptions | undefined): Function | undefined {
  if (typeof options === "function") return options;
  return options !== undefined && typeof options.handler === "function" ? options.handler : undefined;
}

function toOperand(token: Token | undefined): Operand | undefined {
  if (TypeGuards.isQuotedToken(token)) return { kind: "literal", value: token.content };
  if (TypeGuards.isNumberToken(token)) return { kind: "literal", value: token.content };
  if (!TypeGuards.isPropertyAccessToken(token) || token.variable !== undefined) return undefined;
  const [first, ...rest] = token.props;
  if (!TypeGuards.isWordToken(first) || (first.content !== "value" && first.content !== "user")) return undefined;
  const keys: (string | number)[] = [];
  for (const prop of rest) {
    if (TypeGuards.isWordToken(prop) || TypeGuards.isQuotedToken(prop)) {
      if (SPECIAL_PROPERTIES.has(prop.content)) return undefined;
      keys.push(prop.content);
    } else if (TypeGuards.isNumberToken(prop) && Number.isInteger(prop.content) && prop.content >= 0) {
      keys.push(prop.content);
    } else {
      return undefined;
    }
  }
  return { kind: "path", root: first.content, keys };
}

// Mirrors liquidjs property access under `ownPropertyOnly` for JSON data: own properties only,
// nil stops the walk (and renders empty).
function read(operand: Operand, scope: Scope): unknown {
  if (operand.kind === "literal") return operand.value;
  let current = operand.root === "value" ? scope.value : scope.user;
  for (const key of operand.keys) {
    if (current === undefined || current === null) return current;
    const holder: object = Object(current);
    current = Object.hasOwn(holder, key) ? Reflect.get(holder, key) : undefined;
  }
  return current;
}
