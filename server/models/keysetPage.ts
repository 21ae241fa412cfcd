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
