import { expect } from "chai";
import { QueryTypes } from "sequelize";
import { createFreshDatabase, serverUrl } from "../helpers/testDatabase.ts";
import { createSequelize } from "../../server/db/database.ts";
import { createMigrator } from "../../server/db/migrator.ts";
import { createLogger } from "../../server/logger.ts";
import { testConfig } from "../helpers/testService.ts";

describe("migrations", () => {
  it("run up, down to nothing, and up again on an empty database", async function () {
    // Needs an empty database beside the run's own (CREATE DATABASE on the server); the embedded
    // run migrates a fresh PGlite in embedded.test.ts.
    if (!serverUrl) this.skip();
    this.timeout(60_000);
    const fresh = await createFreshDatabase(serverUrl!, "rollcall_migrations");
    const logger = createLogger("silent");
    const sequelize = createSequelize(fresh.url, await testConfig(fresh.url), logger, 2);
    const tables = async () =>
      (
        await sequelize.query<{ name: string }>(
          `SELECT tablename::text AS name FROM pg_catalog.pg_tables WHERE schemaname = 'public' AND tablename NOT IN ('SequelizeMeta', 'sequelize_meta') ORDER BY 1`,
          { type: QueryTypes.SELECT },
        )
      ).map((r) => r.name);
    try {
      const migrator = await createMigrator(sequelize, logger);
      const applied = await migrator.up();
      expect(applied.length).to.be.greaterThan(0);
      const afterUp = await tables();
      expect(afterUp).to.include.members(["organizations", "users", "teams", "team_memberships", "events", "webhook_deliveries", "reconcile_runs"]);
      await migrator.down({ to: 0 });
      expect(await tables()).to.deep.equal([]);
      await migrator.up();
      expect(await tables()).to.deep.equal(afterUp);
      expect(await migrator.pending()).to.deep.equal([]);
    } finally {
      await sequelize.close();
      await fresh.drop();
    }
  });
});
