import { html, type HtmlValue, type SafeHtml } from "../html.ts";

/** A read-only value with a label and a Copy button (the script copies; without it, the text is selectable). */
export function copyField(props: { id: string; label: string; value: string; hint?: HtmlValue }): SafeHtml {
  return html`<div class="copy-field">
  <label for="${props.id}">${props.label}</label>
  <div class="copy-row">
    <input id="${props.id}" type="text" readonly value="${props.value}" class="mono"${props.hint ? html` aria-describedby="${props.id}-hint"` : ""}>
    <button type="button" data-copy-target="${props.id}">Copy</button>
  </div>
  ${props.hint ? html`<p id="${props.id}-hint" class="hint">${props.hint}</p>` : ""}
  <p class="copy-status" role="status" aria-live="polite" data-copy-status-for="${props.id}"></p>
</div>`;
}

/** A list of problems tied to a field (aria-describedby points here). */
export function errorList(id: string, messages: string[]): SafeHtml {
  if (messages.length === 0) return html`<div id="${id}" class="field-errors" aria-live="polite"></div>`;
  return html`<div id="${id}" class="field-errors" aria-live="polite"><ul>${messages.map((m) => html`<li>${m}</li>`)}</ul></div>`;
}

/** A status word with a colour class (the word itself carries the meaning, not the colour). */
export function statusBadge(label: string, tone: "ok" | "warn" | "bad" | "neutral"): SafeHtml {
  return html`<span class="badge badge-${tone}">${label}</span>`;
}

/** An empty-state line inside a section. */
export function emptyState(text: string): SafeHtml {
  return html`<p class="empty">${text}</p>`;
}
