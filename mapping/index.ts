import { compileMapping } from "./compile.ts";
import type { CompiledMapping } from "./types.ts";

export {
  MappingValidationError,
  type CompiledEntry,
  type CompiledMapping,
  type CompiledTemplate,
  type Destination,
  type DestinationPlan,
  type MappedFields,
  type MappingDocument,
  type MappingEntryError,
  type MappingProblem,
  type MappingResult,
  type ScimUserLike,
} from "./types.ts";
export { compileMapping, MAX_ENTRIES, MAX_VALUE_LENGTH } from "./compile.ts";
export { MAX_KEY_LENGTH } from "./entry.ts";
export { evaluateMapping, EVALUATION_BUDGET_MS, MappingRequestBudget } from "./evaluate.ts";
export { DEFAULT_MAPPING_DOCUMENT, DEFAULT_ORGANIZATION_ROLE } from "./defaults.ts";
export { compileMappingCached, MAPPING_CACHE_SIZE } from "./cache.ts";
export { isRoleKey } from "./destination.ts";
export { looksLikeEmail } from "./coerce.ts";
export { ENTERPRISE_USER_SCHEMA, CORE_USER_SCHEMA } from "./sourcePath.ts";
export { TEMPLATE_OUTPUT_LIMIT, TEMPLATE_RENDER_LIMIT_MS } from "./templateEngine.ts";

/** The defaults alone, i.e. `compileMapping({})`: what an organization without a mapping uses. */
export const defaultCompiledMapping: CompiledMapping = compileMapping({});
