import { InvalidFilterError } from "../../errors.ts";
import type { ResolvedAttribute } from "../schemas/resolve.ts";
import type { AttributeDefinition, ResourceType } from "../schemas/types.ts";

/**
 * How one attribute value is reached in SQL. Only names from the schema definitions are ever
 * written into the SQL text; every value a client sends goes into a bind parameter.
 */
export interface Operand {
  /** The value as text (or as the column's own type for boolean and timestamptz columns). */
  readonly text: string;
  /** The value as jsonb, when it lives in `scim_resource`. */
  readonly json: string | undefined;
  readonly columnType: "text" | "boolean" | "timestamptz" | undefined;
  readonly definition: AttributeDefinition;
}

/** Table alias per resource type: `users u`, `teams t`. */
export const TABLE_ALIAS: Record<ResourceType, string> = { User: "u", Group: "t" };

type Column = { readonly sql: string; readonly columnType: "text" | "boolean" | "timestamptz" };

const COLUMNS: Record<ResourceType, Readonly<Record<string, Column>>> = {
  User: {
    id: { sql: "u.id", columnType: "text" },
    userName: { sql: "u.user_name", columnType: "text" },
    externalId: { sql: "u.external_id", columnType: "text" },
    active: { sql: "u.active", columnType: "boolean" },
    "meta.created": { sql: "u.created_at", columnType: "timestamptz" },
    "meta.lastModified": { sql: "u.updated_at", columnType: "timestamptz" },
  },
  Group: {
    id: { sql: "t.id", columnType: "text" },
    displayName: { sql: "t.display_name", columnType: "text" },
    externalId: { sql: "t.external_id", columnType: "text" },
    "meta.created": { sql: "t.created_at", columnType: "timestamptz" },
    "meta.lastModified": { sql: "t.updated_at", columnType: "timestamptz" },
  },
};

/**
 * A jsonb key written into SQL; the pattern is a guard that it really is a schema name. `$ref`
 * is spelled E'\x24ref' because Sequelize reads a `$name` even inside a string literal as a bind parameter.
 */
export function jsonKey(name: string): string {
  if (!/^[A-Za-z0-9$:._-]+$/.test(name)) throw new Error(`Refusing to write "${name}" into SQL as a jsonb key.`);
  return name.includes("$") ? `E'${name.replaceAll("$", "\\x24")}'` : `'${name}'`;
}

/** Whether the attribute is a Group's members, which live in team_memberships. */
export function isMembers(resourceType: ResourceType, resolved: ResolvedAttribute): boolean {
  return resourceType === "Group" && resolved.extension === undefined && resolved.attribute.name === "members";
}

/** Whether the attribute is a User's groups, which GET shows from team_memberships (not from the stored resource). */
export function isUserGroups(resourceType: ResourceType, resolved: ResolvedAttribute): boolean {
  return resourceType === "User" && resolved.extension === undefined && resolved.attribute.name === "groups";
}

function notFilterable(resolved: ResolvedAttribute): never {
  throw new InvalidFilterError(`Attribute "${resolved.path}" cannot be used in a filter or sort.`);
}

/** The column an attribute maps to, if it has one. */
export function columnFor(resourceType: ResourceType, resolved: ResolvedAttribute): Column | undefined {
  if (resolved.extension) return undefined;
  const column = COLUMNS[resourceType][resolved.path];
  if (!column && resolved.attribute.name === "meta") notFilterable(resolved);
  return column;
}

/** The jsonb object holding a top-level attribute: `scim_resource`, or its extension object. */
function attributeContainer(resourceType: ResourceType, resolved: ResolvedAttribute): string {
  const base = `${TABLE_ALIAS[resourceType]}.scim_resource`;
  return resolved.extension ? `${base}->${jsonKey(resolved.extension)}` : base;
}

/** The jsonb of a top-level attribute inside `scim_resource` (extension attributes under their URN key). */
export function attributeJson(resourceType: ResourceType, resolved: ResolvedAttribute): string {
  return `${attributeContainer(resourceType, resolved)}->${jsonKey(resolved.attribute.name)}`;
}

/** An operand for a key of a jsonb object expression. */
export function jsonMember(objectJson: string, definition: AttributeDefinition): Operand {
  const key = jsonKey(definition.name);
  return { text: `${objectJson}->>${key}`, json: `${objectJson}->${key}`, columnType: undefined, definition };
}

/** The operand of a single-valued attribute or sub-attribute at the top level of a resource. */
export function scalarOperand(resourceType: ResourceType, resolved: ResolvedAttribute): Operand {
  const column = columnFor(resourceType, resolved);
  if (column) return { text: column.sql, json: undefined, columnType: column.columnType, definition: resolved.definition };
  if (isMembers(resourceType, resolved)) notFilterable(resolved);
  if (!resolved.subAttribute) return jsonMember(attributeContainer(resourceType, resolved), resolved.attribute);
  return jsonMember(attributeJson(resourceType, resolved), resolved.subAttribute);
}

/** `CASE …` so a non-array value (malformed, or absent) yields no elements instead of an error. */
export function arrayElements(json: string): string {
  return `jsonb_array_elements(CASE WHEN jsonb_typeof(${json}) = 'array' THEN ${json} ELSE '[]'::jsonb END)`;
}

/** The operand for one element `e.v` of a multi-valued attribute: its sub-attribute, or the element itself. */
export function elementOperand(resolvedAttribute: AttributeDefinition, sub: AttributeDefinition | undefined): Operand {
  if (sub) return jsonMember("e.v", sub);
  return { text: "(e.v #>> '{}')", json: "e.v", columnType: undefined, definition: resolvedAttribute };
}

/** The operand for a member's value inside `team_memberships m`. */
export function memberOperand(resolved: ResolvedAttribute): Operand {
  if (resolved.subAttribute && resolved.subAttribute.name !== "value") notFilterable(resolved);
  const value = resolved.attribute.subAttributes?.find((sub) => sub.name === "value");
  if (!value) notFilterable(resolved);
  return { text: "m.user_id", json: undefined, columnType: "text", definition: value };
}

/**
 * The operand for one of a user's groups inside `team_memberships gm JOIN teams gt`, as the
 * presenter shows them: value is the team id, display its name, type always "direct". `$ref`
 * embeds the public URL, which the SQL does not know, so it cannot be filtered on.
 */
export function groupOperand(resolved: ResolvedAttribute): Operand {
  const sub = resolved.subAttribute ?? resolved.attribute.subAttributes?.find((candidate) => candidate.name === "value");
  if (!sub) notFilterable(resolved);
  const text = { value: "gm.team_id", display: "gt.display_name", type: "'direct'::text" }[sub.name];
  if (!text) notFilterable(resolved);
  return { text, json: undefined, columnType: "text", definition: sub };
}

/** A relation filtered through EXISTS: a Group's members or a User's groups; undefined for stored attributes. */
export interface Relation {
  /** `EXISTS (SELECT 1 … WHERE <join>` without its closing parenthesis, so conditions can be ANDed on. */
  readonly exists: string;
  readonly operand: (resolved: ResolvedAttribute) => Operand;
}

const MEMBERS: Relation = { exists: "EXISTS (SELECT 1 FROM team_memberships m WHERE m.team_id = t.id", operand: memberOperand };
const USER_GROUPS: Relation = {
  exists: "EXISTS (SELECT 1 FROM team_memberships gm JOIN teams gt ON gt.id = gm.team_id AND gt.deleted_at IS NULL WHERE gm.user_id = u.id",
  operand: groupOperand,
};

/** The relation an attribute is stored in, if it is one (members of a Group, groups of a User). */
export function relationFor(resourceType: ResourceType, resolved: ResolvedAttribute): Relation | undefined {
  if (isMembers(resourceType, resolved)) return MEMBERS;
  if (isUserGroups(resourceType, resolved)) return USER_GROUPS;
  return undefined;
}
