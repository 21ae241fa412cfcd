/** A row version as a weak ETag: SCIM's `meta.version` and the ETag header (RFC 7644 §3.14). */
export const etagOf = (version: number) => `W/"${version}"`;

/** Whether an If-Match header names this version (or `*`); an absent header always matches. */
export function ifMatchAllows(ifMatch: string | undefined, version: number): boolean {
  if (!ifMatch) return true;
  const tags = ifMatch.split(",").map((t) => t.trim());
  if (tags.includes("*")) return true;
  const current = etagOf(version);
  const strip = (t: string) => t.replace(/^W\//, "");
  return tags.some((t) => strip(t) === strip(current));
}
