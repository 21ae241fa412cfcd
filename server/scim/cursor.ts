import { createHash, createHmac, timingSafeEqual } from "node:crypto";
import { ExpiredCursorError, InvalidCursorError } from "../errors.ts";

/*
 * RFC 9865 cursors for SCIM list walks. A cursor is stateless: it carries a row's sort key (the
 * last row of the page before, or for a previousCursor the first row of the page after; keyset
 * pagination, server/models/scimSearch.ts), a direction and an expiry, and is signed with an HMAC
 * whose input also binds the organization, the resource type and the query (filter and order).
 * So a client cannot forge or edit a position, a cursor from another organization or another
 * filter fails the check, and holding cursors costs the server nothing.
 *
 *   v1.<payload base64url>.<HMAC-SHA256 base64url>      (only RFC 3986 unreserved characters)
 */

const VERSION = "v1";
/** Longer than any cursor this module issues; a longer value is refused before any work. */
const MAX_LENGTH = 512;
const UNRESERVED = /^[A-Za-z0-9\-._~]+$/;

/** A row's place in a walk: its creation time (ISO, microseconds) and id. */
export type CursorKey = { createdAt: string; id: string };

/** Where a page starts: after `key` (null: at the start), or, for a previousCursor, before `key`. */
export type CursorPosition = { key: CursorKey | null; backward: boolean };

/** What a cursor is valid for: one organization, one endpoint, one query. */
export type CursorScope = {
  organizationId: string;
  /** "All": the root /.search over users and groups together. */
  resourceType: "User" | "Group" | "All";
  filter: string | undefined;
  descending: boolean;
};

type Payload = { p: [string, string] | null; x: number; b?: 1 };

/** A short, stable fingerprint of the query a cursor belongs to (the filter exactly as sent). */
function queryFingerprint(scope: CursorScope): string {
  return createHash("sha256")
    .update(JSON.stringify([scope.resourceType, scope.filter ?? null, scope.descending]))
    .digest("base64url");
}

function mac(key: Buffer, scope: CursorScope, payload: string): Buffer {
  return createHmac("sha256", key)
    .update(`rollcall-scim-cursor-${VERSION}\n${scope.organizationId}\n${queryFingerprint(scope)}\n${payload}`)
    .digest();
}

const ISO_MICROS = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{6}Z$/;

function isPayload(value: unknown): value is Payload {
  if (typeof value !== "object" || value === null) return false;
  const { p, x, b } = value as Record<string, unknown>;
  if (!Number.isSafeInteger(x) || (b !== undefined && b !== 1)) return false;
  if (p === null) return b === undefined; // "before the start" is never issued
  return Array.isArray(p) && p.length === 2 && typeof p[0] === "string" && ISO_MICROS.test(p[0]) && typeof p[1] === "string" && p[1].length > 0 && p[1].length <= 64;
}

/** Issues and opens cursors with keys derived from the encryption key ring (current key first). */
export class CursorCodec {
  constructor(
    private readonly keys: Buffer[],
    /** ServiceProviderConfig pagination.cursorTimeout: how long a cursor stays valid after it was issued. */
    readonly timeoutSeconds: number,
    private readonly now: () => Date,
  ) {
    if (keys.length === 0) throw new Error("a cursor codec needs at least one key");
  }

  /** A cursor for the page at `position`, valid for `timeoutSeconds` from now. */
  issue(scope: CursorScope, position: CursorPosition): string {
    const payload: Payload = {
      p: position.key === null ? null : [position.key.createdAt, position.key.id],
      x: Math.floor(this.now().getTime() / 1000) + this.timeoutSeconds,
      ...(position.backward ? { b: 1 as const } : {}),
    };
    const body = Buffer.from(JSON.stringify(payload)).toString("base64url");
    return `${VERSION}.${body}.${mac(this.keys[0]!, scope, body).toString("base64url")}`;
  }

  /**
   * The position an incoming cursor names. The empty cursor starts a walk (RFC 9865 §2). Anything
   * not issued by this server for this scope is invalidCursor; a genuine one past its expiry is
   * expiredCursor (checked only after the signature, so an expiry cannot be forged either).
   */
  open(scope: CursorScope, cursor: string): CursorPosition {
    if (cursor === "") return { key: null, backward: false };
    if (cursor.length > MAX_LENGTH || !UNRESERVED.test(cursor)) throw new InvalidCursorError();
    const [version, body, signature, ...rest] = cursor.split(".");
    if (version !== VERSION || !body || !signature || rest.length > 0) throw new InvalidCursorError();
    const given = Buffer.from(signature, "base64url");
    const genuine = this.keys.some((key) => {
      const expected = mac(key, scope, body);
      return given.length === expected.length && timingSafeEqual(given, expected);
    });
    if (!genuine) throw new InvalidCursorError();
    let payload: unknown;
    try {
      payload = JSON.parse(Buffer.from(body, "base64url").toString("utf8"));
    } catch {
      throw new InvalidCursorError();
    }
    if (!isPayload(payload)) throw new InvalidCursorError();
    if (this.now().getTime() / 1000 > payload.x) throw new ExpiredCursorError(this.timeoutSeconds);
    return { key: payload.p === null ? null : { createdAt: payload.p[0], id: payload.p[1] }, backward: payload.b === 1 };
  }
}

/** What the cursors of a page are made of (server/models/scimSearch.ts CursorPage). */
export type PageEdges = { more: boolean; first: CursorKey | null; last: CursorKey | null; nearest: CursorKey | null };

/**
 * RFC 9865 §2: the nextCursor (every page but the last) and previousCursor (never on the first
 * page) of a page read from `from`. A page read backward resumes forward after the nearest row
 * before where it was read from (or at the start when there is none), which is exactly its own
 * last row when it holds any.
 */
export function pageCursors(
  codec: CursorCodec,
  scope: CursorScope,
  from: CursorPosition,
  page: PageEdges,
): { nextCursor: string | undefined; previousCursor: string | undefined } {
  const forward = (key: CursorKey | null) => codec.issue(scope, { key, backward: false });
  const backward = (key: CursorKey) => codec.issue(scope, { key, backward: true });
  if (!from.backward) {
    return {
      nextCursor: page.more ? forward(page.last ?? from.key) : undefined,
      // A page that starts after some row has a page before it; the walk's first page has none.
      previousCursor: from.key !== null && page.first !== null ? backward(page.first) : undefined,
    };
  }
  const before = page.first ?? from.key!;
  return { nextCursor: forward(page.nearest), previousCursor: page.more ? backward(before) : undefined };
}
