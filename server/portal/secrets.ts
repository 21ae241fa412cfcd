import { createHash, createHmac, randomBytes, timingSafeEqual } from "node:crypto";

/** A one-time link code: `pc_` + 256 random bits. Stored only as its SHA-256. */
export function generateLinkCode(): string {
  return `pc_${randomBytes(32).toString("base64url")}`;
}

/** A session cookie value: 256 random bits. Stored only as its SHA-256. */
export function generateSessionSecret(): string {
  return randomBytes(32).toString("base64url");
}

/** SHA-256 of a code or cookie value; the only form stored. */
export function sha256(value: string): Buffer {
  return createHash("sha256").update(value, "utf8").digest();
}

/**
 * The session's CSRF token (synchronizer token, derived rather than stored): an HMAC of a fixed
 * label keyed by the session secret. A page of the session embeds it; another site can neither
 * read the page nor the HttpOnly cookie, so it cannot produce the token.
 */
export function csrfTokenFor(sessionSecret: string): string {
  return createHmac("sha256", sessionSecret).update("rollcall-portal-csrf").digest("base64url");
}

/** Constant-time comparison of a presented CSRF token with the expected one. */
export function csrfTokenMatches(presented: string | undefined, expected: string): boolean {
  if (!presented) return false;
  const a = Buffer.from(presented);
  const b = Buffer.from(expected);
  return a.length === b.length && timingSafeEqual(a, b);
}
