import { expect } from "chai";
import { encodeEventCursor, eventsQuery } from "../../server/admin/eventSchemas.ts";
import { comparePositions } from "../../server/models/eventQueries.ts";

describe("Events API cursor and query", () => {
  it("decodes the cursor it encodes, with transaction ids beyond 2^53", () => {
    const cursor = { organizationId: "org_01ABC", xid: "18446744073709551615", seq: 9_007_199_254_740_991 };
    expect(eventsQuery.parse({ after: encodeEventCursor(cursor) }).after).to.deep.equal(cursor);
  });

  it("refuses cursors that are not base64url JSON of the expected shape", () => {
    const encode = (value: unknown) => Buffer.from(JSON.stringify(value)).toString("base64url");
    for (const after of [
      "",
      "%%%",
      encode([2, "org_1", "5", 1]),
      encode([1, "org_1", "18446744073709551616", 1]),
      encode([1, "org_1", "05", 1]),
      encode([1, "org_1", "5", -1]),
      encode([1, "org_1", "5", 1.5]),
      encode([1, "", "5", 1]),
      encode({ organizationId: "org_1", xid: "5", seq: 1 }),
    ]) {
      expect(eventsQuery.safeParse({ after }).success, after).to.equal(false);
    }
  });

  it("orders positions by transaction id as a 64-bit number, then by seq", () => {
    expect(comparePositions({ xid: "9007199254740993", seq: 1 }, { xid: "9007199254740992", seq: 50 })).to.equal(1);
    expect(comparePositions({ xid: "10", seq: 7 }, { xid: "9", seq: 8 })).to.equal(1);
    expect(comparePositions({ xid: "10", seq: 7 }, { xid: "10", seq: 8 })).to.be.lessThan(0);
    expect(comparePositions({ xid: "10", seq: 8 }, { xid: "10", seq: 8 })).to.equal(0);
  });

  it("defaults limit to 100, bounds it at 1000, and splits, trims and de-duplicates types", () => {
    expect(eventsQuery.parse({}).limit).to.equal(100);
    expect(eventsQuery.safeParse({ limit: "1001" }).success).to.equal(false);
    expect(eventsQuery.parse({ types: "scimUser.updated, scimGroup.created,scimUser.updated" }).types).to.deep.equal(["scimUser.updated", "scimGroup.created"]);
    expect(eventsQuery.safeParse({ types: ",," }).success).to.equal(false);
  });
});
