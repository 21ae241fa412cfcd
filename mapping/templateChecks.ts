import { Output, TypeGuards, toValueSync, type Template } from "liquidjs";
import { isRoleKey, ROLE_KEY_HINT } from "./destination.ts";

const ROLE_TEXT = /^[a-z0-9_:-]*$/;
const QUOTED = /"[^"]*"|'[^']*'/g;

/**
 * liquidjs's parser forgives slips that are almost always mistakes in a mapping (`{{ value | }}`,
 * `plus:` without its number) and renders them silently wrong, so they are refused at upload.
 */
export function syntaxProblem(templates: readonly Template[]): string | undefined {
  for (const template of descendants(templates, () => true)) {
    const token = template.token;
    let markup: string;
    let shown: string;
    if (TypeGuards.isOutputToken(token)) {
      markup = token.content;
      shown = `{{ ${markup.trim()} }}`;
    } else if (TypeGuards.isTagToken(token)) {
      markup = token.args;
      shown = `{% ${token.name} ${markup.trim()} %}`;
    } else {
      continue;
    }
    // The `liquid` tag holds one statement per line; quoted text may contain any of | : ,
    for (const line of markup.split("\n")) {
      const [, ...filters] = line.replace(QUOTED, '""').split("|");
      for (const filter of filters) {
        const text = filter.trim();
        const slip =
          text === ""
            ? 'a "|" is not followed by a filter'
            : text.endsWith(":")
              ? `the filter "${text.slice(0, -1).trim()}" has ":" but no argument`
              : text.endsWith(",")
                ? `the filter "${text.split(":")[0]?.trim()}" ends with "," but no argument`
                : undefined;
        if (slip !== undefined) return `the Liquid template is invalid: ${slip} in ${clip(shown)}`;
      }
    }
  }
  return undefined;
}

/**
 * Catches role mistakes visible without any user, and without rendering (a template must not
 * cost time at upload): literal text that cannot appear in a role key (`Member`, `{{ "Admin" }}`),
 * or a `default:` that is not a role key.
 */
export function roleProblem(templates: readonly Template[]): string | undefined {
  // A capture's text is assigned to a variable, not emitted, so it is not checked.
  const emitted = descendants(templates, (t) => !(TypeGuards.isTagToken(t.token) && t.token.name === "capture"));
  for (const template of emitted) {
    const token = template.token;
    if (TypeGuards.isHTMLToken(token)) {
      const text = token.getContent().trim();
      if (!ROLE_TEXT.test(text)) return `the text "${clip(text)}" cannot be part of a role key (${ROLE_KEY_HINT})`;
    } else if (template instanceof Output) {
      const [initial, ...rest] = template.value.initial.postfix;
      const filters = template.value.filters;
      // A bare literal output is emitted as is; once filtered, its final form is unknown here.
      if (rest.length === 0 && filters.length === 0 && TypeGuards.isQuotedToken(initial) && !ROLE_TEXT.test(initial.content.trim())) {
        return `the text "${clip(initial.content.trim())}" cannot be part of a role key (${ROLE_KEY_HINT})`;
      }
      for (const filter of filters) {
        const first = filter.args[0];
        if (filter.name === "default" && TypeGuards.isQuotedToken(first) && !isRoleKey(first.content)) {
          return `the default "${clip(first.content)}" is not a role key (${ROLE_KEY_HINT})`;
        }
      }
    }
  }
  return undefined;
}

/** Every template in the tree, depth first; `enter` decides whether a tag's body is visited. */
function* descendants(templates: readonly Template[], enter: (template: Template) => boolean): Generator<Template> {
  for (const template of templates) {
    yield template;
    if (template.children && enter(template)) {
      const children: unknown = toValueSync(template.children(false, true));
      if (Array.isArray(children)) yield* descendants(children as Template[], enter);
    }
  }
}

function clip(text: string): string {
  return text.length > 60 ? `${text.slice(0, 57)}...` : text;
}
