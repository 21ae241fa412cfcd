/**
 * RFC 7644 §3.9 `attributes` / `excludedAttributes`: which attributes a response carries.
 * Paths are case-insensitive; extension attributes may be named with their schema URN
 * (`urn:…:enterprise:2.0:User:department`) or as a whole extension (`urn:…:enterprise:2.0:User`).
 */
export type Projection = { include: string[][] | null; exclude: string[][] };

type Json = Record<string, unknown>;

/** Attributes that are returned whatever the request says. */
const ALWAYS = new Set(["id", "schemas", "meta"]);

/** Splits an attribute path into lowercase segments, keeping a schema URN as one segment. */
export function splitPath(path: string): string[] {
  const trimmed = path.trim();
  if (trimmed.toLowerCase().startsWith("urn:")) {
    const lower = trimmed.toLowerCase();
    // The URN ends at ":User" / ":Group" style resource names; the attribute follows a ':' or '.'.
    const match = /^(urn:.*?:(?:user|group))(?:[:.](.+))?$/i.exec(trimmed);
    if (match) return [match[1]!.toLowerCase(), ...(match[2] ? match[2].toLowerCase().split(".") : [])];
    return [lower];
  }
  return trimmed.toLowerCase().split(".").filter((s) => s !== "");
}

/** Parses the two query parameters (comma-separated lists). */
export function parseProjection(attributes: string | undefined, excludedAttributes: string | undefined): Projection {
  const list = (value: string | undefined) =>
    (value ?? "").split(",").map((p) => p.trim()).filter((p) => p !== "").map(splitPath);
  const include = list(attributes);
  return { include: include.length > 0 ? include : null, exclude: list(excludedAttributes) };
}

/** Whether a projection leaves out a top-level attribute entirely (lets callers skip loading it). */
export function excludesAttribute(projection: Projection, name: string): boolean {
  const lower = name.toLowerCase();
  if (projection.exclude.some((p) => p.length === 1 && p[0] === lower)) return true;
  if (projection.include && !ALWAYS.has(name) && !projection.include.some((p) => p[0] === lower)) return true;
  return false;
}

function pick(value: unknown, paths: string[][]): unknown {
  if (paths.some((p) => p.length === 0)) return value;
  if (Array.isArray(value)) return value.map((v) => pick(v, paths));
  if (typeof value !== "object" || value === null) return value;
  const out: Json = {};
  for (const [key, child] of Object.entries(value)) {
    const next = paths.filter((p) => p[0] === key.toLowerCase()).map((p) => p.slice(1));
    if (next.length > 0) out[key] = pick(child, next);
  }
  return out;
}

function drop(value: unknown, paths: string[][]): unknown {
  if (Array.isArray(value)) return value.map((v) => drop(v, paths));
  if (typeof value !== "object" || value === null) return value;
  const out: Json = {};
  for (const [key, child] of Object.entries(value)) {
    const here = paths.filter((p) => p[0] === key.toLowerCase());
    if (here.some((p) => p.length === 1)) continue;
    out[key] = here.length > 0 ? drop(child, here.map((p) => p.slice(1))) : child;
  }
  return out;
}

/** Applies a projection to a presented resource; id, schemas and meta always stay. */
export function applyProjection(resource: Json, projection: Projection): Json {
  let out: Json = resource;
  if (projection.include) {
    const picked = pick(resource, projection.include) as Json;
    out = {};
    for (const [key, value] of Object.entries(resource)) {
      if (ALWAYS.has(key)) out[key] = value;
      else if (key in picked) out[key] = picked[key];
    }
  }
  if (projection.exclude.length > 0) {
    const exclude = projection.exclude.filter((p) => !(p.length === 1 && ALWAYS.has(p[0]!)));
    out = drop(out, exclude) as Json;
  }
  return out;
}
