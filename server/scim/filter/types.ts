import type { AttrPath, Compare, Filter, LogExp, NotFilter, Suffix, ValuePath } from "scim2-parse-filter";

/** A parsed SCIM filter: the AST of scim2-parse-filter (RFC 7644 §3.4.2.2 grammar). */
export type FilterNode = Filter;
export type CompareNode = Compare;
export type PresentNode = Suffix;
export type LogicalNode = LogExp;
export type NotNode = NotFilter;
export type ValuePathNode = ValuePath;
export type FilterAttrPath = AttrPath;

export type ComparisonOperator = Compare["op"];
export type CompValue = Compare["compValue"];
