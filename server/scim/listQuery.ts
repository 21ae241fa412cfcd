import { z } from "zod";
import { InvalidFilterError, ValidationError } from "../errors.ts";
import { parseProjection, type Projection } from "./projection.ts";

/** A validated list request (GET /Users, GET /Groups, POST /.search). */
export type ListQuery = {
  filter: string | undefined;
  startIndex: number;
  count: number;
  sortBy: string | undefined;
  descending: boolean;
  projection: Projection;
  /**
   * RFC 9865 cursor pagination when present ("" starts a walk); undefined means index paging
   * (startIndex), the default. Never both: parseListQuery refuses a request that sends the two.
   */
  cursor: string | undefined;
};

const integer = (name: string) =>
  z
    .union([z.string(), z.number()])
    .transform((v, ctx) => {
      const n = typeof v === "number" ? v : Number(v.trim());
      if (!Number.isFinite(n) || !Number.isInteger(n)) {
        ctx.addIssue({ code: "custom", message: `${name} must be an integer` });
        return z.NEVER;
      }
      return n;
    })
    .optional();

const listSchema = z.object({
  filter: z.string().optional(),
  startIndex: integer("startIndex"),
  count: integer("count"),
  sortBy: z.string().max(200).optional(),
  sortOrder: z.string().optional(),
  attributes: z.string().max(2000).optional(),
  excludedAttributes: z.string().max(2000).optional(),
  cursor: z.string().optional(),
});

/** Reads a parameter case-insensitively (IdPs send `startindex`, `Count`, …) and keeps the first value. */
function normalize(source: Record<string, unknown>): Record<string, unknown> {
  const canonical = ["filter", "startIndex", "count", "sortBy", "sortOrder", "attributes", "excludedAttributes", "cursor"];
  const out: Record<string, unknown> = {};
  for (const [key, raw] of Object.entries(source)) {
    const name = canonical.find((c) => c.toLowerCase() === key.toLowerCase());
    if (!name || name in out) continue;
    const value = Array.isArray(raw) ? raw[0] : raw;
    out[name] = Array.isArray(value) ? value.join(",") : value;
  }
  return out;
}

/**
 * Parses list parameters per RFC 7644 §3.4.2.4: startIndex below 1 means 1, a negative count
 * means 0, and count is capped at maxResults.
 */
export function parseListQuery(source: Record<string, unknown>, maxResults: number): ListQuery {
  const parsed = listSchema.safeParse(normalize(source));
  if (!parsed.success) {
    const issue = parsed.error.issues[0]!;
    throw new ValidationError(`${issue.path.join(".")}: ${issue.message}`);
  }
  const q = parsed.data;
  if (q.filter !== undefined && q.filter.trim() === "") throw new InvalidFilterError("filter must not be empty.");
  const sortOrder = q.sortOrder?.toLowerCase();
  if (sortOrder !== undefined && sortOrder !== "ascending" && sortOrder !== "descending") {
    throw new ValidationError('sortOrder must be "ascending" or "descending".');
  }
  if (q.cursor !== undefined) {
    // RFC 9865 §2.4: the parameter names the method, so a request naming both is ambiguous.
    if (q.startIndex !== undefined) throw new ValidationError("Send either cursor (cursor pagination) or startIndex (index pagination), not both.");
    // Cursor pages follow the keyset (creation time, id); a sort on another attribute is index paging only.
    if (q.sortBy !== undefined) {
      throw new ValidationError("sortBy cannot be combined with cursor: cursor pages are in creation order (sortOrder=descending for newest first); use startIndex to sort by an attribute.");
    }
  }
  return {
    filter: q.filter,
    // Past any row count an index only has to stay a valid OFFSET (bigint): 1e20 is an empty page, not a 500.
    startIndex: Math.min(Number.MAX_SAFE_INTEGER, Math.max(1, q.startIndex ?? 1)),
    count: Math.min(maxResults, Math.max(0, q.count ?? maxResults)),
    sortBy: q.sortBy,
    descending: sortOrder === "descending",
    projection: parseProjection(q.attributes, q.excludedAttributes),
    cursor: q.cursor,
  };
}
