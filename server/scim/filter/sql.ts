import { BindList } from "../../db/bindList.ts";
import { InvalidFilterError } from "../../errors.ts";
import type { ResolvedAttribute } from "../schemas/resolve.ts";
import type { ResourceType } from "../schemas/types.ts";
import { bindAttribute, bindComparison, bindValuePath, type AttributeScope, type BoundValue } from "./bind.ts";
import {
  arrayElements,
  attributeJson,
  columnFor,
  elementOperand,
  jsonMember,
  relationFor,
  scalarOperand,
  type Operand,
} from "./sqlOperands.ts";
import type { ComparisonOperator, FilterNode } from "./types.ts";

/** A boolean SQL expression and the values of its `$n` parameters, in order. */
export interface CompiledSql {
  readonly sql: string;
  readonly params: unknown[];
}

interface SqlScope {
  readonly resourceType: ResourceType;
  /** Inside `attr[…]`: the enclosing attribute and how to reach its sub-attributes in the current element. */
  readonly element: { readonly parent: ResolvedAttribute; readonly operand: (resolved: ResolvedAttribute) => Operand } | undefined;
}

function attributeScope(scope: SqlScope): AttributeScope {
  return { resourceType: scope.resourceType, parent: scope.element?.parent };
}

function presentJson(json: string): string {
  return `(${json} IS NOT NULL AND ${json} NOT IN ('null'::jsonb, '""'::jsonb, '[]'::jsonb, '{}'::jsonb))`;
}

function presentOperand(operand: Operand): string {
  if (operand.json) return presentJson(operand.json);
  if (operand.columnType === "text") return `(${operand.text} IS NOT NULL AND ${operand.text} <> '')`;
  return `(${operand.text} IS NOT NULL)`;
}

function elementsExist(json: string, condition: string): string {
  return `EXISTS (SELECT 1 FROM ${arrayElements(json)} AS e(v) WHERE ${condition})`;
}

/** A value filter applies to the existing values of its attribute only (RFC 7644 §3.4.2.2), so each must be an object. */
const ELEMENT_IS_OBJECT = "jsonb_typeof(e.v) = 'object'";

const ORDER_OPERATORS: Partial<Record<ComparisonOperator, string>> = { gt: ">", ge: ">=", lt: "<", le: "<=" };

function escapeLike(value: string): string {
  return value.replace(/[\\%_]/g, (character) => `\\${character}`);
}

/**
 * PostgreSQL text cannot hold U+0000 (and the driver refuses to send it), so no stored value
 * equals, contains, starts or ends with a string that has one; `ne` holds for every value. In the
 * binary (COLLATE "C") order, "p\u0000…" sits just above its prefix p, so order comparisons become
 * comparisons with p.
 */
function nulComparison(text: string, op: ComparisonOperator, boundPrefix: () => string): string {
  if (op === "ne") return "TRUE";
  if (op === "gt" || op === "ge") return `${text} COLLATE "C" > ${boundPrefix()}`;
  if (op === "lt" || op === "le") return `${text} COLLATE "C" <= ${boundPrefix()}`;
  return "FALSE";
}

/** One value compared to a bound value; "ne" is null-safe (absent counts as different). */
function scalarPredicate(operand: Operand, op: ComparisonOperator, value: BoundValue, params: BindList): string {
  const equality = op === "eq" ? "=" : op === "ne" ? "IS DISTINCT FROM" : undefined;
  switch (value.kind) {
    case "null":
      return op === "eq" ? `(NOT ${presentOperand(operand)})` : presentOperand(operand);
    case "boolean":
      if (!equality) break;
      if (operand.columnType === "boolean") return `${operand.text} ${equality} ${params.add(value.value)}`;
      // jsonb booleans read as 'true'/'false'; lower() also accepts "True" strings stored before canonicalization.
      return `lower(${operand.text}) ${equality} ${params.add(String(value.value))}`;
    case "dateTime": {
      const sqlOp = equality ?? ORDER_OPERATORS[op];
      if (operand.columnType !== "timestamptz" || !sqlOp) break;
      return `${operand.text} ${sqlOp} ${params.add(value.value.text)}::timestamptz`;
    }
    case "number":
      break;
    case "string": {
      // Case-insensitive attributes compare lower() of both sides, in SQL: PostgreSQL's lower() is what
      // the unique indexes use, and JavaScript's toLowerCase differs on a few letters (final Σ, İ).
      const caseExact = operand.definition.caseExact;
      const text = caseExact ? operand.text : `lower(${operand.text})`;
      const bindWanted = (wanted: string) => (caseExact ? params.add(wanted) : `lower(${params.add(wanted)})`);
      const nul = value.value.indexOf("\u0000");
      if (nul >= 0) return nulComparison(text, op, () => bindWanted(value.value.slice(0, nul)));
      if (equality) return `${text} ${equality} ${bindWanted(value.value)}`;
      const escaped = escapeLike(value.value);
      if (op === "co") return `${text} LIKE ${bindWanted(`%${escaped}%`)}`;
      if (op === "sw") return `${text} LIKE ${bindWanted(`${escaped}%`)}`;
      if (op === "ew") return `${text} LIKE ${bindWanted(`%${escaped}`)}`;
      // COLLATE "C": RFC 7644 asks for a lexicographical order, independent of the database locale.
      return `${text} COLLATE "C" ${ORDER_OPERATORS[op] ?? "="} ${bindWanted(value.value)}`;
    }
  }
  throw new InvalidFilterError(`Filtering with "${op}" on ${operand.definition.name} is not supported.`);
}

/** "pr" of an attribute at the top level of a resource, or of a sub-attribute inside a value filter. */
function presentSql(resolved: ResolvedAttribute, scope: SqlScope): string {
  if (scope.element) return presentOperand(scope.element.operand(resolved));
  const relation = relationFor(scope.resourceType, resolved);
  if (relation) {
    if (!resolved.subAttribute) return `${relation.exists})`;
    return `${relation.exists} AND ${presentOperand(relation.operand(resolved))})`;
  }
  if (!resolved.attribute.multiValued || columnFor(scope.resourceType, resolved)) {
    return presentOperand(scalarOperand(scope.resourceType, resolved));
  }
  const json = attributeJson(scope.resourceType, resolved);
  const element = elementOperand(resolved.attribute, resolved.subAttribute);
  return elementsExist(json, presentOperand(element));
}

function withSubAttribute(resolved: ResolvedAttribute, sub: ResolvedAttribute["subAttribute"]): ResolvedAttribute {
  if (!sub || resolved.subAttribute) return resolved;
  return { ...resolved, subAttribute: sub, definition: sub, path: `${resolved.path}.${sub.name}` };
}

function comparisonSql(node: Extract<FilterNode, { compValue: unknown }>, scope: SqlScope, params: BindList): string {
  const bound = bindComparison(attributeScope(scope), node.attrPath, node.op, node.compValue);
  const resolved = withSubAttribute(bound.attribute, bound.subAttribute);
  if (scope.element) return scalarPredicate(scope.element.operand(resolved), node.op, bound.value, params);
  if (bound.value.kind === "null") {
    const present = presentSql(resolved, scope);
    return node.op === "eq" ? `(NOT ${present})` : present;
  }
  // RFC 7644 §3.4.2.2: a multi-valued attribute matches when any of its values matches, "ne"
  // included (some value differs; a value without the sub-attribute differs too).
  const relation = relationFor(scope.resourceType, resolved);
  if (relation) {
    const condition = scalarPredicate(relation.operand(resolved), node.op, bound.value, params);
    return `${relation.exists} AND ${condition})`;
  }
  if (resolved.attribute.multiValued && !columnFor(scope.resourceType, resolved)) {
    const condition = scalarPredicate(elementOperand(resolved.attribute, resolved.subAttribute), node.op, bound.value, params);
    return elementsExist(attributeJson(scope.resourceType, resolved), condition);
  }
  return scalarPredicate(scalarOperand(scope.resourceType, resolved), node.op, bound.value, params);
}

function valuePathSql(node: Extract<FilterNode, { op: "[]" }>, scope: SqlScope, params: BindList): string {
  const parent = bindValuePath(attributeScope(scope), node.attrPath);
  const { resourceType } = scope;
  const relation = relationFor(resourceType, parent);
  if (relation) {
    const inner = compile(node.valFilter, { resourceType, element: { parent, operand: relation.operand } }, params);
    return `${relation.exists} AND ${inner})`;
  }
  if (parent.attribute.multiValued) {
    const operand = (resolved: ResolvedAttribute) => elementOperand(resolved.attribute, resolved.subAttribute);
    const inner = compile(node.valFilter, { resourceType, element: { parent, operand } }, params);
    return elementsExist(attributeJson(resourceType, parent), `${ELEMENT_IS_OBJECT} AND ${inner}`);
  }
  // A single complex attribute (name[…], meta[…]): its sub-attributes are reached as at the top level.
  const operand = (resolved: ResolvedAttribute) =>
    columnFor(resourceType, resolved) || !resolved.subAttribute
      ? scalarOperand(resourceType, resolved)
      : jsonMember(attributeJson(resourceType, resolved), resolved.subAttribute);
  const inner = compile(node.valFilter, { resourceType, element: { parent, operand } }, params);
  // meta always exists; any other single complex attribute must hold an object for its filter to apply.
  if (parent.attribute.name === "meta" && !parent.extension) return `(${inner})`;
  return `(jsonb_typeof(${attributeJson(resourceType, parent)}) = 'object' AND ${inner})`;
}

function compile(node: FilterNode, scope: SqlScope, params: BindList): string {
  switch (node.op) {
    case "and":
    case "or":
      if (node.filters.length === 0) throw new InvalidFilterError(`"${node.op}" needs operands.`);
      return `(${node.filters.map((child) => compile(child, scope, params)).join(node.op === "and" ? " AND " : " OR ")})`;
    case "not":
      // IS NOT TRUE, not NOT: a comparison with an absent value is NULL, and "not" of it must be true.
      return `((${compile(node.filter, scope, params)}) IS NOT TRUE)`;
    case "[]":
      return valuePathSql(node, scope, params);
    case "pr":
      return presentSql(bindAttribute(attributeScope(scope), node.attrPath), scope);
    default:
      return comparisonSql(node, scope, params);
  }
}

/**
 * Compiles a parsed filter to a Postgres boolean expression over `users u` or `teams t`, with
 * parameters numbered from `bindOffset + 1`. Values only ever travel as parameters.
 */
export function compileFilterToSql(
  node: FilterNode,
  resourceType: ResourceType,
  options: { bindOffset: number },
): CompiledSql {
  const params = new BindList(options.bindOffset);
  const sql = compile(node, { resourceType, element: undefined }, params);
  return { sql, params: params.values };
}
