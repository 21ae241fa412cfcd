import { splitMappingValue } from "./destination.ts";
import { compileSourcePath } from "./sourcePath.ts";
import { compileTemplate } from "./templateEngine.ts";
import type { CompiledEntry, CompiledTemplate } from "./types.ts";

export const MAX_KEY_LENGTH = 500;

/** An entry plus the spelling-independent form of its source path, used to match overrides. */
export type EntryCompilation = { ok: true; entry: CompiledEntry; canonical: string } | { ok: false; messages: string[] };

/** Compiles one `key: value` pair, reporting every problem it has (path and value) together. */
export function compileEntry(key: string, value: string, origin: CompiledEntry["origin"]): EntryCompilation {
  const messages: string[] = [];
  const source =
    key.length > MAX_KEY_LENGTH
      ? ({ ok: false, message: `it is longer than ${MAX_KEY_LENGTH} characters` } as const)
      : compileSourcePath(key);
  if (!source.ok) messages.push(`invalid source path: ${source.message}`);
  const split = splitMappingValue(value);
  let template: CompiledTemplate | null = null;
  if (!split.ok) {
    messages.push(split.message);
  } else if (split.template !== null) {
    const isRole = split.destination.kind === "field" && split.destination.field === "organization_role";
    const compiled = compileTemplate(split.template, isRole);
    if (compiled.ok) template = compiled.template;
    else messages.push(compiled.message);
  }
  if (!source.ok || !split.ok || messages.length > 0) return { ok: false, messages };
  return {
    ok: true,
    entry: { key, origin, destination: split.destination, read: source.read, template },
    canonical: source.canonical,
  };
}
