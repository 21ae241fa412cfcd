import { CompactSign } from "jose";
import type { AttemptResult } from "../sender.ts";
import type { SigningKey } from "../signingKeys.ts";
import type { SecurityEventClaims } from "./securityEvent.ts";

/*
 * The scim-events format on the wire, per RFC 8935 (push-based SET delivery): a POST whose body is
 * the SET as a compact JWS, `Content-Type: application/secevent+jwt`, JOSE header typ
 * `secevent+jwt` (RFC 8417 §2.3) with the kid of the key published at /.well-known/jwks.json.
 */

export const SET_CONTENT_TYPE = "application/secevent+jwt";

/** Signs the claims with the active key: the compact JWS that is the request body. */
export async function signSecurityEvent(claims: SecurityEventClaims, key: SigningKey): Promise<string> {
  return new CompactSign(new TextEncoder().encode(JSON.stringify(claims)))
    .setProtectedHeader({ alg: key.algorithm, kid: key.kid, typ: "secevent+jwt" })
    .sign(key.privateKey);
}

/** The request headers of a SET push (RFC 8935 §2.1). */
export function securityEventHeaders(): Record<string, string> {
  return { "content-type": SET_CONTENT_TYPE, accept: "application/json" };
}

/** RFC 8935 §2.3's error body: `{"err": "<code>", "description": "…"}`. */
function errorOf(text: string | null): { err: string; description: string | null } | null {
  if (!text) return null;
  try {
    const body = JSON.parse(text) as { err?: unknown; description?: unknown };
    if (typeof body.err === "string" && body.err !== "") return { err: body.err, description: typeof body.description === "string" ? body.description : null };
  } catch {
    // The excerpt may be cut short (sender.ts keeps EXCERPT_CHARS); the code is near the start.
    const match = /"err"\s*:\s*"([^"\\]{1,100})"/.exec(text);
    if (match) return { err: match[1]!, description: null };
  }
  return null;
}

/**
 * What a receiver's answer means (RFC 8935 §2.2–2.3). 202 accepts the SET (any other 2xx is taken
 * as accepted too: the receiver has it). A 400 with an `err` code rejects it for good: it is not
 * retried, and the attempt's error records the code. Anything else (other statuses, a 400 without
 * the error body, timeouts) is a failure retried on the usual schedule.
 */
export function interpretSetResponse(result: AttemptResult): AttemptResult {
  if (result.ok || result.statusCode !== 400) return result;
  const rejection = errorOf(result.responseExcerpt);
  if (!rejection) return result;
  return { ...result, permanent: true, error: `SET rejected (${rejection.err})${rejection.description ? `: ${rejection.description}` : ""}` };
}
