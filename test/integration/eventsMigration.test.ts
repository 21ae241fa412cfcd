import { expect } from "chai";
import { QueryTypes } from "sequelize";
import { createFreshDatabase, serverUrl } from "../helpers/testDatabase.ts";
import { testConfig } from "../helpers/testService.ts";
import { createSequelize } from "../../server/db/database.ts";
import { createMigrator } from "../../server/db/migrator.ts";
import { createLogger } from "../../server/logger.ts";
import { pageOfEvents, STREAM_START } from "../../server/models/eventQueries.ts";
import { recordEvent } from "../../server/webhooks/outbox.ts";

const MIGRATION = "20261208010000-add-event-transaction-ids.ts";

describe("migration 20261208010000: events.xid for the Events API", () => {
  it("gives events written before it xid 0, so they come first in seq order, and every later insert its transaction's id", async function () {
    // Migrates a database of its own part of the way (CREATE DATABASE on the server); the embedded
    // run applies this migration to every fresh PGlite it starts.
    if (!serverUrl) this.skip();
    this.timeout(60_000);
    const fresh = await createFreshDatabase(serverUrl!, "rollcall_eventxid");
    const logger = createLogger("silent");
    const sequelize = createSequelize(fresh.url, await testConfig(fresh.url), logger, 2);
    try {
      const migrator = await createMigrator(sequelize, logger);
      const names = (await migrator.pending()).map((m) => m.name);
      const previous = names[names.indexOf(MIGRATION) - 1]!;
      await migrator.up({ to: previous });
      await sequelize.query(`INSERT INTO organizations (id, name, slug) VALUES ('org_old', 'Old', 'old')`);
      await sequelize.query(`
        INSERT INTO events (id, organization_id, type, subject_id, payload, fanned_out_at)
        VALUES ('msg_old_a', 'org_old', 'scimUser.provisioned', 'usr_a', '{"type":"scimUser.provisioned","object":"event","timestamp":"2026-01-01T00:00:00.000Z","data":{}}', now()),
               ('msg_old_b', 'org_old', 'scimUser.updated', 'usr_a', '{"type":"scimUser.updated","object":"event","timestamp":"2026-01-01T00:00:01.000Z","data":{}}', now())`);
      await migrator.up();

      const xids = await sequelize.query<{ id: string; xid: string }>(`SELECT id, xid::text AS xid FROM events ORDER BY seq`, { type: QueryTypes.SELECT });
      expect(xids).to.deep.equal([{ id: "msg_old_a", xid: "0" }, { id: "msg_old_b", xid: "0" }]);
      const newer = await sequelize.transaction((t) =>
        recordEvent(sequelize, t, { organizationId: "org_old", type: "scimUser.updated", subjectId: "usr_a", data: {} }, new Date()),
      );
      const page = await pageOfEvents(sequelize, "org_old", { after: STREAM_START, types: null, limit: 10 });
      expect(page.events.map((e) => e.id)).to.deep.equal(["msg_old_a", "msg_old_b", newer]);
      expect(BigInt(page.events[2]!.xid) > 0n).to.equal(true);
      expect(page.head).to.deep.equal({ xid: page.events[2]!.xid, seq: page.events[2]!.seq });

      await migrator.down({ to: MIGRATION });
      const columns = await sequelize.query(`SELECT 1 FROM information_schema.columns WHERE table_name = 'events' AND column_name = 'xid'`, { type: QueryTypes.SELECT });
      expect(columns).to.deep.equal([]);
    } finally {
      await sequelize.close();
      await fresh.drop();
    }
  });
});
