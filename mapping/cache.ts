import { compileMapping } from "./compile.ts";
import type { CompiledMapping } from "./types.ts";

/** How many compiled mapping versions stay in memory (least recently used are dropped). */
export const MAPPING_CACHE_SIZE = 128;

type Cached = { compiled: CompiledMapping; document: unknown; serialized: string | undefined };

const cache = new Map<string, Cached>();

/** Compiles a mapping once per version key (e.g. "org_x:3"); later calls reuse the parsed templates. */
export function compileMappingCached(version: string, document: unknown): CompiledMapping {
  const hit = cache.get(version);
  if (hit !== undefined && sameDocument(hit, document)) {
    // Re-inserting moves the key to the end of Map's insertion order: the most recently used.
    cache.delete(version);
    cache.set(version, hit);
    return hit.compiled;
  }
  const compiled = compileMapping(document);
  cache.delete(version);
  cache.set(version, { compiled, document, serialized: undefined });
  while (cache.size > MAPPING_CACHE_SIZE) {
    const oldest = cache.keys().next();
    if (oldest.done) break;
    cache.delete(oldest.value);
  }
  return compiled;
}

// A version key reused for different content (a caller bug, or a rolled-back version number)
// must not serve stale templates, so a hit is confirmed by identity or by content.
function sameDocument(hit: Cached, document: unknown): boolean {
  if (hit.document === document) return true;
  hit.serialized ??= JSON.stringify(hit.compiled.document);
  let candidate: string | undefined;
  try {
    candidate = JSON.stringify(document);
  } catch {
    return false;
  }
  return candidate === hit.serialized;
}
