export type {
  CompareNode,
  ComparisonOperator,
  CompValue,
  FilterNode,
  LogicalNode,
  NotNode,
  PresentNode,
  ValuePathNode,
} from "./types.ts";
export { MAX_FILTER_DEPTH, MAX_FILTER_LENGTH, parseFilter, type ParseFilterOptions } from "./parse.ts";
export { matchesFilter } from "./match.ts";
export { compileFilterToSql, type CompiledSql } from "./sql.ts";
export { sortSqlFor } from "./sort.ts";
export { parseDateTime, type ParsedDateTime } from "./dateTime.ts";
