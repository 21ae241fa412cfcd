import type { Sequelize } from "sequelize";
import {
  compileMapping,
  DEFAULT_MAPPING_DOCUMENT,
  MappingValidationError,
  type CompiledMapping,
  type MappingDocument,
} from "../../mapping/index.ts";
import { MultiValidationError } from "../errors.ts";
import { newId } from "../ids.ts";
import { execute, select } from "../models/sql.ts";
import { writeAudit, type Actor } from "./audit.ts";

export type MappingVersionRow = { id: string; organization_id: string; version: number; mapping: MappingDocument; created_at: Date };

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
    // Serialise version numbering per organization on its row.
    await execute(sequelize, `SELECT id FROM organizations WHERE id = $1 FOR UPDATE`, [props.organizationId], transaction);
    const [row] = await execute<MappingVersionRow>(
      sequelize,
      `INSERT INTO attribute_mappings (id, organization_id, version, mapping, created_at)
       SELECT $1, $2, coalesce(max(version), 0) + 1, $3, $4 FROM attribute_mappings WHERE organization_id = $2
       RETURNING *`,
      [newId("map"), props.organizationId, JSON.stringify(compiled.document), now],
      transaction,
    );
    await writeAudit(sequelize, transaction, {
      organizationId: props.organizationId,
      actor: props.actor,
      action: "attribute_mapping.updated",
      subjectType: "attribute_mapping",
      subjectId: row!.id,
      changes: { version: row!.version },
    }, now);
    return row!;
  });
}

/** The current mapping version of an organization, or undefined when it uses the defaults. */
export async function currentMapping(sequelize: Sequelize, organizationId: string): Promise<MappingVersionRow | undefined> {
  const rows = await select<MappingVersionRow>(
    sequelize,
    `SELECT * FROM attribute_mappings WHERE organization_id = $1 ORDER BY version DESC LIMIT 1`,
    [organizationId],
  );
  return rows[0];
}

/** Every stored version, newest first. */
export function mappingVersions(sequelize: Sequelize, organizationId: string): Promise<MappingVersionRow[]> {
  return select<MappingVersionRow>(sequelize, `SELECT * FROM attribute_mappings WHERE organization_id = $1 ORDER BY version DESC`, [organizationId]);
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
