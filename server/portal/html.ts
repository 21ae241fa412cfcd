/**
 * Server-side HTML with escaping by default: every interpolated value is escaped unless it is
 * already SafeHtml (the output of another `html` template). There is no other way to emit markup,
 * so an IdP-supplied userName or an error message that echoes a request cannot inject script.
 */
export class SafeHtml {
  constructor(readonly value: string) {}
  toString(): string {
    return this.value;
  }
}

export type HtmlValue = SafeHtml | string | number | boolean | null | undefined | readonly HtmlValue[];

const ESCAPES: Record<string, string> = { "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" };

/** Escapes text for use in element content and quoted attribute values. */
export function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, (c) => ESCAPES[c]!);
}

function render(value: HtmlValue): string {
  if (value instanceof SafeHtml) return value.value;
  if (value === null || value === undefined || value === false) return "";
  if (Array.isArray(value)) return value.map(render).join("");
  return escapeHtml(String(value));
}

/** Tagged template: `html\`<p>${userName}</p>\`` escapes userName; nested templates pass through. */
export function html(strings: TemplateStringsArray, ...values: HtmlValue[]): SafeHtml {
  let out = strings[0] ?? "";
  for (let i = 0; i < values.length; i++) out += render(values[i]!) + (strings[i + 1] ?? "");
  return new SafeHtml(out);
}

/** Joins fragments (e.g. rows) into one. */
export function join(parts: readonly HtmlValue[]): SafeHtml {
  return new SafeHtml(parts.map(render).join(""));
}

/** A timestamp as a <time> element in UTC, readable without script. */
export function timeTag(date: Date | null | undefined, empty = "never"): SafeHtml {
  if (!date) return html`<span class="muted">${empty}</span>`;
  const iso = date.toISOString();
  return html`<time datetime="${iso}">${iso.slice(0, 19).replace("T", " ")} UTC</time>`;
}
