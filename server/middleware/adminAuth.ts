import { createHash, timingSafeEqual } from "node:crypto";
import type { Next } from "koa";
import type { AppContext } from "../context.ts";
import { UnauthorizedError } from "../errors.ts";

/** Reads the bearer credential from an Authorization header, or undefined. */
export function bearerToken(header: string): string | undefined {
  const match = /^Bearer\s+(\S+)\s*$/i.exec(header);
  return match?.[1];
}

const digest = (value: string) => createHash("sha256").update(value).digest();

/** Admin API guard: the bearer must equal ROLLCALL_ADMIN_KEY, compared in constant time. */
export function adminAuth(adminKey: string) {
  const expected = digest(adminKey);
  return async function adminAuthMiddleware(ctx: AppContext, next: Next): Promise<void> {
    const presented = bearerToken(ctx.get("Authorization"));
    if (!presented || !timingSafeEqual(digest(presented), expected)) {
      throw new UnauthorizedError("Missing or invalid admin key; send Authorization: Bearer $ROLLCALL_ADMIN_KEY.");
    }
    await next();
  };
}
