import { expect } from "chai";
import { randomBytes } from "node:crypto";
import { CursorCodec, pageCursors, type CursorScope } from "../../server/scim/cursor.ts";
import { KeyRing } from "../../server/crypto/secretBox.ts";
import { AppError } from "../../server/errors.ts";

const scope: CursorScope = { organizationId: "org_A", resourceType: "User", filter: 'userName sw "a"', descending: false };
const key = { createdAt: "2026-12-07T04:22:00.123456Z", id: "user_01JABC" };
const position = { key, backward: false };
const start = { key: null, backward: false };

function scimTypeOf(run: () => unknown): string | undefined {
  try {
    run();
  } catch (error) {
    if (error instanceof AppError) return error.scimType;
    throw error;
  }
  return undefined;
}

describe("SCIM cursors (server/scim/cursor.ts)", () => {
  const ring = new KeyRing(randomBytes(32));
  let now = new Date("2026-12-07T04:00:00Z");
  const codec = new CursorCodec(ring.derivedKeys("scim-cursor"), 600, () => now);

  it("opens what it issued, in RFC 3986 unreserved characters; the empty cursor is the start", () => {
    const cursor = codec.issue(scope, position);
    expect(cursor).to.match(/^[A-Za-z0-9\-._~]+$/);
    expect(codec.open(scope, cursor)).to.deep.equal(position);
    expect(codec.open(scope, codec.issue(scope, start))).to.deep.equal(start);
    expect(codec.open(scope, "")).to.deep.equal(start);
    expect(codec.open(scope, codec.issue(scope, { key, backward: true }))).to.deep.equal({ key, backward: true });
  });

  it("refuses a cursor for another organization, resource type, filter or order as invalidCursor", () => {
    const cursor = codec.issue(scope, position);
    for (const other of [
      { ...scope, organizationId: "org_B" },
      { ...scope, resourceType: "Group" as const },
      { ...scope, filter: undefined },
      { ...scope, filter: 'userName sw "b"' },
      { ...scope, descending: true },
    ]) {
      expect(scimTypeOf(() => codec.open(other, cursor))).to.equal("invalidCursor");
    }
  });

  it("refuses an edited payload, a foreign key's signature and malformed values as invalidCursor", () => {
    const [version, payload, mac] = codec.issue(scope, position).split(".") as [string, string, string];
    const edited = Buffer.from(JSON.stringify({ p: [key.createdAt, "user_01JZZZ"], x: 9_999_999_999 })).toString("base64url");
    const foreign = new CursorCodec(new KeyRing(randomBytes(32)).derivedKeys("scim-cursor"), 600, () => now).issue(scope, position);
    for (const bad of [`${version}.${edited}.${mac}`, foreign, `v2.${payload}.${mac}`, `${version}.${payload}`, "x", "v1..", `${version}.${payload}.${mac}.x`]) {
      expect(scimTypeOf(() => codec.open(scope, bad)), bad).to.equal("invalidCursor");
    }
  });

  it("refuses a genuine cursor past its timeout as expiredCursor", () => {
    const cursor = codec.issue(scope, position);
    now = new Date(now.getTime() + 599_000);
    expect(codec.open(scope, cursor)).to.deep.equal(position);
    now = new Date(now.getTime() + 2_000);
    expect(scimTypeOf(() => codec.open(scope, cursor))).to.equal("expiredCursor");
  });

  it("still opens cursors signed with a previous key after a rotation, and signs with the new one", () => {
    const old = randomBytes(32);
    const before = new CursorCodec(new KeyRing(old).derivedKeys("scim-cursor"), 600, () => now);
    const rotated = new CursorCodec(new KeyRing(randomBytes(32), [old]).derivedKeys("scim-cursor"), 600, () => now);
    expect(rotated.open(scope, before.issue(scope, position))).to.deep.equal(position);
    expect(scimTypeOf(() => before.open(scope, rotated.issue(scope, position)))).to.equal("invalidCursor");
  });

  describe("pageCursors (RFC 9865 §2)", () => {
    const a = { createdAt: "2026-12-07T04:00:00.000001Z", id: "user_a" };
    const b = { createdAt: "2026-12-07T04:00:00.000002Z", id: "user_b" };
    const opened = (cursor: string | undefined) => (cursor === undefined ? undefined : codec.open(scope, cursor));

    it("gives the first page a nextCursor after its last row and no previousCursor", () => {
      const cursors = pageCursors(codec, scope, start, { more: true, first: a, last: b, nearest: null });
      expect(opened(cursors.nextCursor)).to.deep.equal({ key: b, backward: false });
      expect(cursors.previousCursor).to.equal(undefined);
    });

    it("gives a later page a previousCursor before its first row, and the last page no nextCursor", () => {
      const cursors = pageCursors(codec, scope, { key: a, backward: false }, { more: false, first: b, last: b, nearest: null });
      expect(cursors.nextCursor).to.equal(undefined);
      expect(opened(cursors.previousCursor)).to.deep.equal({ key: b, backward: true });
    });

    it("resumes forward after a page read backward, and drops previousCursor once the start is reached", () => {
      const middle = pageCursors(codec, scope, { key: b, backward: true }, { more: true, first: a, last: a, nearest: a });
      expect(opened(middle.nextCursor)).to.deep.equal({ key: a, backward: false });
      expect(opened(middle.previousCursor)).to.deep.equal({ key: a, backward: true });
      const first = pageCursors(codec, scope, { key: a, backward: true }, { more: false, first: null, last: null, nearest: null });
      expect(opened(first.nextCursor)).to.deep.equal(start);
      expect(first.previousCursor).to.equal(undefined);
    });
  });
});
