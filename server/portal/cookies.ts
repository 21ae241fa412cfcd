/** The portal session cookie: host-only, scoped to /portal, never readable by script. */
export const SESSION_COOKIE = "rollcall_portal";

/**
 * Set-Cookie for the session. Written by hand rather than through Koa's cookies, which refuse a
 * Secure cookie on a plain-HTTP socket: in production TLS usually ends at a proxy in front of
 * Rollcall, and the cookie must still be Secure.
 */
export function sessionCookie(value: string, options: { secure: boolean; expires: Date }): string {
  return [
    `${SESSION_COOKIE}=${value}`,
    "Path=/portal",
    `Expires=${options.expires.toUTCString()}`,
    "HttpOnly",
    "SameSite=Strict",
    ...(options.secure ? ["Secure"] : []),
  ].join("; ");
}

/** Set-Cookie that removes the session cookie (sign out). */
export function clearedSessionCookie(options: { secure: boolean }): string {
  return sessionCookie("", { secure: options.secure, expires: new Date(0) });
}

/** The session cookie's value from a Cookie header, if any. */
export function readSessionCookie(header: string | undefined): string | undefined {
  if (!header) return undefined;
  for (const part of header.split(";")) {
    const [name, ...rest] = part.trim().split("=");
    if (name === SESSION_COOKIE) {
      const value = rest.join("=");
      return /^[A-Za-z0-9_-]{43}$/.test(value) ? value : undefined;
    }
  }
  return undefined;
}
