import type { Sequelize } from "sequelize";
import {
  compileMapping,
  DEFAULT_MAPPING_DOCUMENT,
  MappingValidationError,
  type CompiledMapping,
} from "../../mapping/index.ts";
import { MultiValidationError } from "../errors.ts";
import { insertMappingVersion, latestMappingVersion, mappingVersionsOf, type MappingVersionRow } from "../models/mappingQueries.ts";
import type { Actor } from "../changes/change.ts";
import { auditedOnly } from "../changes/payloads.ts";
import { recordChange } from "../changes/recorder.ts";

export type { MappingVersionRow };

/** Compiles a mapping document or throws a 400 that lists every problem with its entry key. */
export function compileOrExplain(document: unknown): CompiledMapping {
  try {
    return compileMapping(document);
  } catch (error) {
    if (error instanceof MappingValidationError) {
      throw new MultiValidationError(
        `The mapping has ${error.problems.length} problem(s).`,
        error.problems.map((p) => ({ code: "invalid_mapping_entry", message: `${p.key}: ${p.message}`, meta: { key: p.key } })),
      );
    }
    throw error;
  }
}

/** Validates and stores a new mapping version (versions count up from 1 per organization). */
export async function storeMapping(
  sequelize: Sequelize,
  props: { organizationId: string; document: unknown; actor: Actor },
  now: Date,
): Promise<MappingVersionRow> {
  const compiled = compileOrExplain(props.document);
  return sequelize.transaction(async (transaction) => {
    const row = await insertMappingVersion(sequelize, transaction, props.organizationId, compiled.document, now);
    await recordChange({ sequelize, transaction }, auditedOnly(props, {
      action: "attribute_mapping.updated",
      subjectType: "attribute_mapping",
      subjectId: row.id,
      changes: { version: row.version },
    }), now);
    return row;
  });
}

/** The current mapping version of an organization, or undefined when it uses the defaults. */
export function currentMapping(sequelize: Sequelize, organizationId: string): Promise<MappingVersionRow | undefined> {
  return latestMappingVersion(sequelize, organizationId);
}

/** Every stored version, newest first. */
export function mappingVersions(sequelize: Sequelize, organizationId: string): Promise<MappingVersionRow[]> {
  return mappingVersionsOf(sequelize, organizationId);
}

/** Presents a mapping version (or the built-in defaults when there is none). */
export function presentMapping(organizationId: string, row: MappingVersionRow | undefined) {
  return {
    object: "attribute_mapping" as const,
    organization_id: organizationId,
    id: row?.id ?? null,
    version: row?.version ?? null,
    mapping: row?.mapping ?? {},
    defaults: DEFAULT_MAPPING_DOCUMENT,
    created_at: row ? row.created_at.getTime() : null,
  };
}
