import type { Sequelize } from "sequelize";
import { compileOrExplain } from "../commands/attributeMappings.ts";
import { mapUser, type CurrentMapping } from "../commands/userMapping.ts";
import { AppError } from "../errors.ts";
import type { CompiledMapping } from "../../mapping/index.ts";
import { membershipsOfUsers } from "../models/membershipQueries.ts";
import type { UserRow } from "../models/rows.ts";
import { storedMappedFields } from "../domain/userColumns.ts";
import type { MappingPreview } from "./views/mappingView.ts";

/** The editor's text parsed and compiled, or the problems to show next to it. */
export type EditedMapping = { document: Record<string, unknown>; compiled: CompiledMapping; problems: [] } | { document: undefined; compiled: undefined; problems: string[] };

/** Parses and validates the editor's JSON with the same compiler the admin API uses. */
export function readEditedMapping(text: string): EditedMapping {
  let parsed: unknown;
  try {
    parsed = JSON.parse(text.trim() === "" ? "{}" : text);
  } catch (error) {
    return { document: undefined, compiled: undefined, problems: [`The mapping is not valid JSON: ${(error as Error).message}`] };
  }
  if (parsed === null || typeof parsed !== "object" || Array.isArray(parsed)) {
    return { document: undefined, compiled: undefined, problems: ["The mapping must be a JSON object of source path → destination entries."] };
  }
  try {
    return { document: parsed as Record<string, unknown>, compiled: compileOrExplain(parsed), problems: [] };
  } catch (error) {
    if (error instanceof AppError) return { document: undefined, compiled: undefined, problems: error.entries?.map((e) => e.message) ?? [error.message] };
    throw error;
  }
}

/** The app fields a user has now, in the shape the mapping produces (the column owner translates). */
function storedFields(user: UserRow): Record<string, unknown> {
  return storedMappedFields(user);
}

/** What the given mapping would make of a stored user (its SCIM data and its teams), next to what it has. */
export async function previewOnUser(sequelize: Sequelize, compiled: CompiledMapping, user: UserRow): Promise<MappingPreview> {
  const teams = (await membershipsOfUsers(sequelize, [user.id])).get(user.id) ?? [];
  const mapping: CurrentMapping = { version: null, compiled };
  const result = mapUser(mapping, user.scim_resource, teams.map((t) => t.display_name));
  return {
    user: { id: user.id, user_name: user.user_name },
    current: storedFields(user),
    proposed: { ...result.fields },
    errors: result.errors.map((e) => `${e.key} → ${e.destination}: ${e.message}`),
  };
}
