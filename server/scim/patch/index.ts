export { applyPatch } from "./applyPatch.ts";
export { planGroupPatch, type GroupPatchPlan, type GroupPatchStep } from "./groupPlan.ts";
export { MAX_PATCH_OPERATIONS, PATCH_OP_SCHEMA_URN, parsePatchBody, type PatchOperation, type PatchOpName } from "./body.ts";
export { parsePatchPath, type PatchPath } from "./path.ts";
