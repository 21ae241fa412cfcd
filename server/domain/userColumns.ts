import { evaluateMapping, looksLikeEmail, type CompiledMapping, type MappedFields, type MappingRequestBudget, type MappingResult } from "../../mapping/index.ts";
import { stableJson } from "../stableJson.ts";

/*
 * The owner of the users row's columns: which ones the attribute mapping fills, how a mapping
 * result becomes them, how a stored row is compared with what it should hold, and what counts as
 * an email. The SCIM writer, the re-map after a group change, the one-statement create, the
 * reconciler's planner and repairs, and the SQL of server/models/userQueries.ts all read from here,
 * so adding a mapped field is one entry below (plus the migration, the mapping destination and the
 * presenter that shows it).
 */

/** Each users column the attribute mapping fills, with the mapped field it takes its value from. */
const FIELD_OF_COLUMN = {
  email_address: "email_address",
  first_name: "first_name",
  last_name: "last_name",
  app_external_id: "external_id",
  organization_role: "organization_role",
  public_metadata: "public_metadata",
  private_metadata: "private_metadata",
} as const satisfies Record<string, Exclude<keyof MappedFields, "active">>;

type FieldColumn = keyof typeof FIELD_OF_COLUMN;

// Precomputed: the re-map after a group push runs these for every member.
const FIELD_COLUMNS = Object.entries(FIELD_OF_COLUMN) as Array<[FieldColumn, (typeof FIELD_OF_COLUMN)[FieldColumn]]>;

/** The users columns one mapping evaluation decides: the fields, the errors and the version that made them. */
export type MappedColumns = { -readonly [C in FieldColumn]: MappedFields[(typeof FIELD_OF_COLUMN)[C]] } & {
  mapping_errors: unknown[];
  mapping_version: number | null;
};

export type MappedColumn = keyof MappedColumns;

/** Every mapped column, in one order used for SQL and for comparisons. */
export const MAPPED_COLUMNS: readonly MappedColumn[] = Object.freeze([
  ...(Object.keys(FIELD_OF_COLUMN) as FieldColumn[]),
  "mapping_errors",
  "mapping_version",
]);

/** The columns a SCIM write sets: what the IdP sent (identity, active, the resource) plus the mapped ones. */
export type UserWrite = MappedColumns & {
  external_id: string | null;
  user_name: string;
  active: boolean;
  scim_resource: Record<string, unknown>;
};

export type UserWriteColumn = keyof UserWrite;

/** Every column a SCIM write sets. */
export const USER_WRITE_COLUMNS: readonly UserWriteColumn[] = Object.freeze(["external_id", "user_name", ...MAPPED_COLUMNS, "active", "scim_resource"]);

/** PostgreSQL type of a written column (text unless listed), for casts in composed statements. */
const SQL_TYPE: Partial<Record<UserWriteColumn, "jsonb" | "boolean" | "int">> = {
  public_metadata: "jsonb",
  private_metadata: "jsonb",
  mapping_errors: "jsonb",
  scim_resource: "jsonb",
  active: "boolean",
  mapping_version: "int",
};

/** The PostgreSQL type of a written column. */
export function sqlTypeOf(column: UserWriteColumn): string {
  return SQL_TYPE[column] ?? "text";
}

/** A column's value as a bind parameter (jsonb columns travel as JSON text). */
export function bindValueOf<C extends UserWriteColumn>(column: C, value: UserWrite[C]): unknown {
  return SQL_TYPE[column] === "jsonb" ? JSON.stringify(value) : value;
}

/** The mapping an organization's users are evaluated with, and its version (null = built-in defaults). */
export type CurrentMapping = { version: number | null; compiled: CompiledMapping };

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

/** The mapped columns a mapping result (of the given mapping version) makes. */
export function mappedColumnsOf(result: MappingResult, version: number | null): MappedColumns {
  const columns: Record<string, unknown> = { mapping_errors: result.errors, mapping_version: version };
  for (const [column, field] of FIELD_COLUMNS) columns[column] = result.fields[field];
  return columns as MappedColumns;
}

/** What the mapping makes of a stored SCIM resource and the user's (live) team names (within a request's budget, if given). */
export function expectedMappedColumns(
  mapping: CurrentMapping,
  scimResource: Record<string, unknown>,
  teamNames: string[],
  budget?: MappingRequestBudget,
): MappedColumns {
  return mappedColumnsOf(mapUser(mapping, scimResource, teamNames, budget), mapping.version);
}

/**
 * A stored row's mapped columns in the shape the mapping produces (MappedFields: the app's
 * `external_id` is the app_external_id column; `active` is the row's), for previews that show a
 * mapping's result next to what the user has now. Keys in the mapping's destination order.
 */
export function storedMappedFields(row: MappedColumns & { active: boolean }): MappedFields {
  const fields: Record<string, unknown> = {};
  for (const [column, field] of FIELD_COLUMNS) {
    fields[field] = row[column];
    if (field === "external_id") fields.active = row.active;
  }
  return fields as MappedFields;
}

/** The mapped columns of a stored row (or of a write). */
export function storedMappedColumns(row: MappedColumns): MappedColumns {
  const columns: Record<string, unknown> = {};
  for (const column of MAPPED_COLUMNS) columns[column] = row[column];
  return columns as MappedColumns;
}

/**
 * The columns whose values differ, compared by value: stored jsonb comes back from PostgreSQL in
 * its own key order, so `{a, b}` and `{b, a}` are the same.
 */
export function differingColumns<T extends object>(stored: T, next: T, columns: readonly (keyof T)[]): (keyof T)[] {
  return columns.filter((c) => !sameValue(stored[c], next[c]));
}

/** Equal by value; null and undefined are the same (as stableJson sees them), objects compared as stable JSON. */
function sameValue(a: unknown, b: unknown): boolean {
  if ((a ?? null) === (b ?? null)) return true;
  if (typeof a !== "object" || typeof b !== "object" || a === null || b === null) return false;
  return stableJson(a) === stableJson(b);
}

/** Whether writing `next` over `stored` would leave the row as it is (then no version bump and no event). */
export function sameUserWrite(stored: UserWrite, next: UserWrite): boolean {
  return differingColumns(stored, next, USER_WRITE_COLUMNS).length === 0;
}

/** The one email rule: a user's email must look like local@domain.tld (the mapping refuses anything else). */
export function isUsableEmail(email: string | null | undefined): email is string {
  return typeof email === "string" && looksLikeEmail(email);
}
