import type { Sequelize, Transaction } from "sequelize";
import {
  compileMappingCached,
  defaultCompiledMapping,
  evaluateMapping,
  type CompiledMapping,
  type MappingRequestBudget,
  type MappingResult,
} from "../../mapping/index.ts";
import { select } from "../models/sql.ts";

/** The mapping an organization's users are evaluated with, and its version (null = built-in defaults). */
export type CurrentMapping = { version: number | null; compiled: CompiledMapping };

/** Loads the organization's current mapping version; compiled templates are cached per version. */
export async function loadCurrentMapping(sequelize: Sequelize, organizationId: string, transaction?: Transaction): Promise<CurrentMapping> {
  const rows = await select<{ version: number; mapping: unknown }>(
    sequelize,
    `SELECT version, mapping FROM attribute_mappings WHERE organization_id = $1 ORDER BY version DESC LIMIT 1`,
    [organizationId],
    transaction,
  );
  const latest = rows[0];
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
  const rows = await select<{ mapping: unknown }>(
    sequelize,
    `SELECT mapping FROM attribute_mappings WHERE organization_id = $1 AND version = $2`,
    [organizationId, version],
    transaction,
  );
  if (!rows[0]) return loadCurrentMapping(sequelize, organizationId, transaction);
  const loaded = { version, compiled: compileMappingCached(key, rows[0].mapping) };
  if (compiledByVersion.size >= COMPILED_CACHE_SIZE) compiledByVersion.delete(compiledByVersion.keys().next().value!);
  compiledByVersion.set(key, loaded);
  return loaded;
}

/**
 * Evaluates a user's mapping. In the mapping context `groups` is the user's teams as
 * `{value: name, display: name}`, sorted by name so `groups[0]` is stable.
 */
export function mapUser(
  mapping: CurrentMapping,
  scimResource: Record<string, unknown>,
  teamNames: string[],
  budget?: MappingRequestBudget,
): MappingResult {
  const groups = [...teamNames]
    .sort((a, b) => a.localeCompare(b, "en", { sensitivity: "base" }) || (a < b ? -1 : a > b ? 1 : 0))
    .map((name) => ({ value: name, display: name }));
  return evaluateMapping(mapping.compiled, { ...scimResource, groups }, budget);
}
