import type { Sequelize, Transaction } from "sequelize";
import { compileMappingCached, defaultCompiledMapping } from "../../mapping/index.ts";
import { latestMappingVersion, mappingVersion } from "../models/mappingQueries.ts";
import type { CurrentMapping } from "../domain/userColumns.ts";

export { mapUser, type CurrentMapping } from "../domain/userColumns.ts";

/** Loads the organization's current mapping version; compiled templates are cached per version. */
export async function loadCurrentMapping(sequelize: Sequelize, organizationId: string, transaction?: Transaction): Promise<CurrentMapping> {
  const latest = await latestMappingVersion(sequelize, organizationId, transaction);
  if (!latest) return { version: null, compiled: defaultCompiledMapping };
  return { version: latest.version, compiled: compileMappingCached(`${organizationId}:${latest.version}`, latest.mapping) };
}

/** Compiled mappings by organization and version: stored versions never change, so entries never go stale. */
const compiledByVersion = new Map<string, CurrentMapping>();
const COMPILED_CACHE_SIZE = 512;

/**
 * The mapping of a given version (the one the request's token lookup saw), compiled once per
 * process; only a version this process has not seen yet costs a query.
 */
export async function mappingForVersion(
  sequelize: Sequelize,
  organizationId: string,
  version: number | null,
  transaction?: Transaction,
): Promise<CurrentMapping> {
  if (version === null) return { version: null, compiled: defaultCompiledMapping };
  const key = `${organizationId}:${version}`;
  const hit = compiledByVersion.get(key);
  if (hit) return hit;
  const stored = await mappingVersion(sequelize, organizationId, version, transaction);
  if (!stored) return loadCurrentMapping(sequelize, organizationId, transaction);
  const loaded = { version, compiled: compileMappingCached(key, stored.mapping) };
  if (compiledByVersion.size >= COMPILED_CACHE_SIZE) compiledByVersion.delete(compiledByVersion.keys().next().value!);
  compiledByVersion.set(key, loaded);
  return loaded;
}
