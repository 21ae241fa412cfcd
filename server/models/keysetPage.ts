/*
 * Keyset pagination for every admin list: a page is the rows after (or, newest first, before) the
 * last key of the previous page, plus one more row so the presenter can tell whether there is a
 * next page (server/admin/presenters.ts presentList). Offsets would rescan every skipped row and
 * shift under concurrent inserts; a key does neither.
 */

/** One page of a list: at most `limit` rows after the cursor `after` (the last id of the previous page). */
export type PageRequest = { limit: number; after?: string | undefined };

/**
 * The tail of a paginated query on `key` (`AND … ORDER BY … LIMIT …`), its cursor and limit
 * appended to `bind`. Ascending lists start at "" (every id sorts after it), so the statement text
 * never changes with the cursor; newest-first lists start at the top when there is no cursor.
 */
export function keysetTail(key: string, page: PageRequest, bind: unknown[], order: "asc" | "desc" = "asc"): string {
  if (order === "asc") {
    bind.push(page.after ?? "", page.limit + 1);
    return ` AND ${key} > $${bind.length - 1} ORDER BY ${key} LIMIT $${bind.length}`;
  }
  bind.push(page.after ?? null, page.limit + 1);
  const cursor = `$${bind.length - 1}`;
  return ` AND (${cursor}::text IS NULL OR ${key} < ${cursor}) ORDER BY ${key} DESC LIMIT $${bind.length}`;
}

/**
 * The tail of a query paginated on a composite key (`AND (a, b) > (…) ORDER BY a, b LIMIT …`):
 * the rows after `after` (before it when descending), `limit + 1` of them so the caller can tell
 * whether another page follows. `columns` and `casts` pair up (`u.created_at` with `timestamptz`);
 * without `after` the walk starts at the first row. A row value comparison keeps to one index range.
 */
export function compositeKeysetTail(
  columns: readonly string[],
  casts: readonly string[],
  after: readonly unknown[] | undefined,
  limit: number,
  bind: unknown[],
  order: "asc" | "desc" = "asc",
): string {
  const direction = order === "asc" ? "ASC" : "DESC";
  let condition = "";
  if (after !== undefined) {
    const placeholders = after.map((value, i) => {
      bind.push(value);
      return `$${bind.length}::${casts[i]}`;
    });
    condition = ` AND (${columns.join(", ")}) ${order === "asc" ? ">" : "<"} (${placeholders.join(", ")})`;
  }
  bind.push(limit + 1);
  return `${condition} ORDER BY ${columns.map((c) => `${c} ${direction}`).join(", ")} LIMIT $${bind.length}`;
}
