import { z } from "zod";
import { InvalidSyntaxError, NoTargetError } from "../../errors.ts";
import { isJsonObject } from "../schemas/types.ts";
import { assertOperationCount, DEFAULT_SCIM_LIMITS, type ScimLimits } from "../limits.ts";

export const PATCH_OP_SCHEMA_URN = "urn:ietf:params:scim:api:messages:2.0:PatchOp";
export const MAX_PATCH_OPERATIONS = DEFAULT_SCIM_LIMITS.maxPatchOperations;

export type PatchOpName = "add" | "remove" | "replace";

/** One validated operation: op lower-cased, an empty path treated as none. */
export interface PatchOperation {
  readonly op: PatchOpName;
  readonly path: string | undefined;
  readonly value: unknown;
  /** Position in Operations, for error messages. */
  readonly index: number;
}

const operationSchema = z.object({
  // IdPs capitalise op names ("Replace", "Add"); RFC 7644 compares them case-insensitively in practice.
  op: z.string().transform((op) => op.toLowerCase()).pipe(z.enum(["add", "remove", "replace"])),
  path: z.string().nullish(),
  value: z.unknown().optional(),
});

const bodySchema = z.object({
  schemas: z
    .array(z.string())
    .refine((schemas) => schemas.some((schema) => schema.toLowerCase() === PATCH_OP_SCHEMA_URN.toLowerCase()), {
      message: `must contain "${PATCH_OP_SCHEMA_URN}"`,
    }),
  Operations: z.array(operationSchema).min(1, "must contain at least one operation"),
});

/** Top-level member names are matched case-insensitively ("operations" from some clients). */
function normalizeTopLevel(body: Record<string, unknown>): Record<string, unknown> {
  const out: Record<string, unknown> = { ...body };
  for (const canonical of ["schemas", "Operations"]) {
    if (canonical in out) continue;
    const key = Object.keys(body).find((candidate) => candidate.toLowerCase() === canonical.toLowerCase());
    if (key !== undefined) out[canonical] = body[key];
  }
  return out;
}

function describeIssue(issue: z.core.$ZodIssue): string {
  const where = issue.path
    .map((segment, position) => (typeof segment === "number" ? `[${segment}]` : position === 0 ? String(segment) : `.${String(segment)}`))
    .join("");
  return where ? `${where}: ${issue.message}` : issue.message;
}

/** Validates a PatchOp body (RFC 7644 §3.5.2); a malformed body is invalidSyntax. */
export function parsePatchBody(body: unknown, limits: ScimLimits = DEFAULT_SCIM_LIMITS): PatchOperation[] {
  if (!isJsonObject(body)) throw new InvalidSyntaxError("The PATCH body must be a JSON object with schemas and Operations.");
  const normalized = normalizeTopLevel(body);
  // Counted before zod walks them, so an oversized list costs nothing.
  if (Array.isArray(normalized.Operations)) assertOperationCount(normalized.Operations.length, limits);
  const parsed = bodySchema.safeParse(normalized);
  if (!parsed.success) {
    throw new InvalidSyntaxError(`Invalid PatchOp body: ${parsed.error.issues.slice(0, 3).map(describeIssue).join("; ")}.`);
  }
  return parsed.data.Operations.map((operation, index) => {
    const path = operation.path?.trim() ? operation.path.trim() : undefined;
    if (operation.op === "remove" && path === undefined) {
      throw new NoTargetError(`Operations[${index}]: remove needs a path.`);
    }
    if (operation.op !== "remove" && operation.value === undefined) {
      throw new InvalidSyntaxError(`Operations[${index}]: ${operation.op} needs a value.`);
    }
    return { op: operation.op, path, value: operation.value, index };
  });
}
