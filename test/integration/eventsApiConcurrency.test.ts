import { expect } from "chai";
import { QueryTypes, type Sequelize, type Transaction } from "sequelize";
import { shared } from "../helpers/rootHooks.ts";
import { admin, scim, type JsonResponse } from "../helpers/http.ts";
import { createOrgWithToken, scimUserBody } from "../helpers/factories.ts";
import { createSequelize } from "../../server/db/database.ts";
import { recordEvent } from "../../server/webhooks/outbox.ts";

/*
 * The Events API's promise (SPEC "Events API and SCIM standards"): a consumer polling from a cursor
 * sees every event once, in order, while writes commit concurrently. Four writers run at once: two
 * through real SCIM requests, two holding transactions open on purpose (some take their transaction
 * id long before they record their event, some roll back, some record inside a savepoint), so
 * events with later seqs commit before earlier ones. A poller walks the cursor throughout; at the
 * end it must have seen exactly the committed events, in (transaction id, seq) order.
 *
 * A second, naive poller that follows seq alone runs alongside: it must miss events, or the
 * scenario did not produce the out-of-order commits this test is about.
 */

const base = () => shared.service.url!;
const PATCH = "urn:ietf:params:scim:api:messages:2.0:PatchOp";
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
const between = (min: number, max: number) => min + Math.floor(Math.random() * (max - min));

type Seen = { id: string; type: string };

/** Reads a page again until it lists an event, for up to 5 s. */
async function eventually(read: () => Promise<JsonResponse>): Promise<JsonResponse> {
  const deadline = Date.now() + 5_000;
  for (;;) {
    const page = await read();
    if (page.body.data.length > 0 || Date.now() > deadline) return page;
    await sleep(25);
  }
}

/** Two SCIM writers' work: create a user, then deactivate it, `rounds` times. */
async function scimWriter(token: string, rounds: number): Promise<void> {
  for (let i = 0; i < rounds; i++) {
    const created = await scim(base(), token, "POST", "/Users", scimUserBody());
    expect(created.status).to.equal(201);
    const patched = await scim(base(), token, "PATCH", `/Users/${created.body.id}`, { schemas: [PATCH], Operations: [{ op: "replace", value: { active: false } }] });
    expect(patched.status).to.equal(200);
  }
}

/**
 * A writer that holds its transactions open: each round takes its transaction id first (half the
 * time) and waits, records one event (in a savepoint every third round), waits again, then commits
 * or (every fifth round) rolls back. Returns the ids of the events it rolled back.
 */
async function holdingWriter(pool: Sequelize, orgId: string, otherOrgId: string, rounds: number, otherIds: string[]): Promise<string[]> {
  const rolledBack: string[] = [];
  const record = (t: Transaction, org: string) =>
    recordEvent(pool, t, { organizationId: org, type: "scimUser.updated", subjectId: null, data: { user: { id: `held_${Math.random()}` } } }, new Date());
  for (let i = 0; i < rounds; i++) {
    const t = await pool.transaction();
    try {
      if (i % 2 === 0) {
        await pool.query("SELECT pg_current_xact_id()", { transaction: t, type: QueryTypes.SELECT });
        await sleep(between(50, 250));
      }
      const id = i % 3 === 0 ? await pool.transaction({ transaction: t }, (savepoint) => record(savepoint, orgId)) : await record(t, orgId);
      if (i % 4 === 1) otherIds.push(await record(t, otherOrgId));
      await sleep(between(20, 300));
      if (i % 5 === 4) {
        await t.rollback();
        rolledBack.push(id);
        if (i % 4 === 1) otherIds.pop();
      } else {
        await t.commit();
      }
    } catch (error) {
      await t.rollback().catch(() => {});
      throw error;
    }
  }
  return rolledBack;
}

describe("Events API under concurrent writes", () => {
  it("hands a polling consumer every committed event exactly once, in order, while transactions commit out of seq order", async function () {
    // The embedded database is one connection: no two transactions are ever open at once there.
    if (!shared.databaseUrl) this.skip();
    this.timeout(120_000);
    const { config, logger } = shared.service.deps;
    const pool = createSequelize(shared.databaseUrl, config, logger, 4);
    const a = await createOrgWithToken(base());
    const b = await createOrgWithToken(base());
    const otherOrgIds: string[] = [];
    try {
      let writing = true;
      /** Set once the writers are done: how many events committed, so the poller knows when it is drained. */
      let target: number | undefined;
      const seen: Seen[] = [];
      let polls = 0;
      const poller = (async () => {
        let cursor: string | undefined;
        let extraPolls = 0;
        let drainDeadline: number | undefined;
        for (;;) {
          const page = await admin(base(), "GET", `/v1/organizations/${a.orgId}/events?limit=5${cursor ? `&after=${cursor}` : ""}`);
          expect(page.status, page.text).to.equal(200);
          polls++;
          seen.push(...page.body.data.map((e: { id: string; type: string }) => ({ id: e.id, type: e.type })));
          cursor = page.body.next_cursor;
          if (page.body.data.length > 0) continue;
          if (target !== undefined) {
            drainDeadline ??= Date.now() + 30_000;
            // Drained: a few more polls must bring nothing (no event handed out twice).
            if ((seen.length >= target && ++extraPolls >= 5) || Date.now() > drainDeadline) return;
          }
          await sleep(10);
        }
      })();
      const naiveMissed = (async () => {
        // What a seq cursor would give: every event with a seq above the last one seen.
        const naive = new Set<string>();
        let last = 0;
        while (writing) {
          const rows = await pool.query<{ id: string; seq: number }>(`SELECT id, seq FROM events WHERE organization_id = $1 AND seq > $2 ORDER BY seq`, {
            bind: [a.orgId, last],
            type: QueryTypes.SELECT,
          });
          for (const r of rows) naive.add(r.id);
          last = rows.at(-1)?.seq ?? last;
          await sleep(5);
        }
        return naive;
      })();

      const writers = Promise.all([
        scimWriter(a.token, 15),
        scimWriter(a.token, 15),
        holdingWriter(pool, a.orgId, b.orgId, 20, otherOrgIds),
        holdingWriter(pool, a.orgId, b.orgId, 20, otherOrgIds),
      ]);
      const rolledBack = (await writers.finally(() => (writing = false))).slice(2).flat() as string[];
      const naive = await naiveMissed;
      const committed = await pool.query<{ id: string; type: string }>(`SELECT id, type FROM events WHERE organization_id = $1 ORDER BY xid, seq`, {
        bind: [a.orgId],
        type: QueryTypes.SELECT,
      });
      target = committed.length;
      await poller;

      expect(committed.length).to.equal(15 * 2 * 2 + 2 * (20 - 4));
      expect(new Set(seen.map((e) => e.id)).size, "no event seen twice").to.equal(seen.length);
      expect(seen.map((e) => e.id), "every committed event, in (xid, seq) order").to.deep.equal(committed.map((e) => e.id));
      expect(seen.filter((e) => rolledBack.includes(e.id)), "no rolled-back event").to.deep.equal([]);
      expect(seen.filter((e) => otherOrgIds.includes(e.id)), "no other organization's event").to.deep.equal([]);
      expect(otherOrgIds.length).to.be.greaterThan(0);
      const missedBySeq = committed.filter((e) => !naive.has(e.id)).length;
      expect(missedBySeq, "a seq-only cursor would have missed events (the scenario committed out of seq order)").to.be.greaterThan(0);
      expect(polls).to.be.greaterThan(committed.length / 5);
    } finally {
      await pool.close();
    }
  });

  it("holds back events of later transactions while an older write transaction of this database is open, and shows them once it ends", async function () {
    if (!shared.databaseUrl) this.skip();
    this.timeout(30_000);
    const { config, logger } = shared.service.deps;
    const pool = createSequelize(shared.databaseUrl, config, logger, 1);
    const org = await createOrgWithToken(base());
    const t = await pool.transaction();
    try {
      await pool.query("SELECT pg_current_xact_id()", { transaction: t, type: QueryTypes.SELECT });
      const created = await scim(base(), org.token, "POST", "/Users", scimUserBody());
      expect(created.status).to.equal(201);
      const held = await admin(base(), "GET", `/v1/organizations/${org.orgId}/events`);
      expect(held.body.data).to.deep.equal([]);
      await t.commit();
      const released = await eventually(() => admin(base(), "GET", `/v1/organizations/${org.orgId}/events?after=${held.body.next_cursor}`));
      expect(released.body.data.map((e: { data: { user: { id: string } } }) => e.data.user.id)).to.deep.equal([created.body.id]);
    } finally {
      await t.rollback().catch(() => {});
      await pool.close();
    }
  });

  it("does not wait for a transaction left open in another database of the cluster", async function () {
    if (!shared.databaseUrl) this.skip();
    this.timeout(30_000);
    const { config, logger } = shared.service.deps;
    const elsewhere = new URL(shared.databaseUrl);
    elsewhere.pathname = "/postgres";
    const other = createSequelize(elsewhere.toString(), config, logger, 1);
    const org = await createOrgWithToken(base());
    const t = await other.transaction();
    try {
      await other.query("SELECT pg_current_xact_id()", { transaction: t, type: QueryTypes.SELECT });
      const created = await scim(base(), org.token, "POST", "/Users", scimUserBody());
      // Polled for a while (a write of this database may be open for a moment); never if it waited for the other database.
      const listed = await eventually(() => admin(base(), "GET", `/v1/organizations/${org.orgId}/events`));
      expect(listed.body.data.map((e: { data: { user: { id: string } } }) => e.data.user.id)).to.deep.equal([created.body.id]);
    } finally {
      await t.rollback().catch(() => {});
      await other.close();
    }
  });
});
