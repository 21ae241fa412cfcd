import { expect } from "chai";
import pg from "pg";
import { DatabaseError, ForeignKeyConstraintError, QueryTypes, UniqueConstraintError, type Sequelize, type Transaction } from "sequelize";
import { shared } from "../helpers/rootHooks.ts";
import { serverUrl } from "../helpers/testDatabase.ts";
import { testConfig } from "../helpers/testService.ts";
import { unique } from "../helpers/factories.ts";
import { createSequelize } from "../../server/db/database.ts";
import { createLogger } from "../../server/logger.ts";
import { execute, isStalePlan, select } from "../../server/models/sql.ts";
import { toAppError } from "../../server/middleware/errorHandler.ts";
import { writeTransaction } from "../../server/db/transactions.ts";

const LIMIT = 200;

/** Runs `fn` with its own Sequelize pool on the run's (migrated) database, closed afterwards. */
async function withPool<T>(poolMax: number, fn: (sequelize: Sequelize) => Promise<T>, env: Record<string, string> = {}): Promise<T> {
  const sequelize = createSequelize(shared.databaseUrl!, await testConfig(shared.databaseUrl, env), createLogger("silent"), poolMax);
  try {
    return await fn(sequelize);
  } finally {
    await sequelize.close();
  }
}

/** Through Sequelize's own path (unnamed statements, never listed): what the pooled connection has prepared. */
async function preparedTexts(sequelize: Sequelize): Promise<string[]> {
  const rows = await sequelize.query<{ statement: string }>(`SELECT statement FROM pg_prepared_statements`, { type: QueryTypes.SELECT });
  return rows.map((r) => r.statement);
}

async function backendPid(sequelize: Sequelize): Promise<number> {
  const [row] = await sequelize.query<{ pid: number }>(`SELECT pg_backend_pid() AS pid`, { type: QueryTypes.SELECT });
  return row!.pid;
}

/** Distinct statement texts: a per-test tag keeps them apart from every other test's statements. */
const statementText = (tag: string, i: number) => `SELECT $1::int + ${i} AS v /* ${tag} */`;

/** What select() throws, or a failure when it does not throw. */
async function rejectionOf(promise: Promise<unknown>): Promise<unknown> {
  try {
    await promise;
  } catch (error) {
    return error;
  }
  throw new Error("expected the statement to fail");
}

describe("hand-written SQL as named prepared statements (server/models/sql.ts)", function () {
  before(function () {
    if (!serverUrl) this.skip(); // the embedded database is one connection, held by the shared service
  });

  describe("the per-connection statement limit", () => {
    it("runs more than 200 distinct statements on one connection, never holding more than 200 prepared", async () => {
      await withPool(1, async (sequelize) => {
        const tag = unique();
        const pid = await backendPid(sequelize);
        let most = 0;
        for (let i = 0; i < LIMIT + 60; i++) {
          const rows = await select<{ v: number }>(sequelize, statementText(tag, i), [1000]);
          expect(rows).to.deep.equal([{ v: 1000 + i }]);
          const held = (await preparedTexts(sequelize)).length;
          expect(held, `after statement ${i}`).to.be.at.most(LIMIT);
          most = Math.max(most, held);
        }
        expect(most).to.equal(LIMIT);
        const [same] = await select<{ pid: number }>(sequelize, `SELECT pg_backend_pid() AS pid /* ${tag} */`, []);
        expect(same!.pid, "one connection throughout").to.equal(pid);
        // The least recently used went first: the 60 oldest texts, plus one for the pid query.
        const texts = await preparedTexts(sequelize);
        expect(texts).to.have.length(LIMIT);
        expect(texts).to.not.include(statementText(tag, 0));
        expect(texts).to.not.include(statementText(tag, 60));
        expect(texts).to.include(statementText(tag, 61));
        expect(texts).to.include(statementText(tag, LIMIT + 59));
      });
    });

    it("prepares an evicted statement again when it is used again", async () => {
      await withPool(1, async (sequelize) => {
        const tag = unique();
        for (let i = 0; i <= LIMIT; i++) await select(sequelize, statementText(tag, i), [0]);
        expect(await preparedTexts(sequelize)).to.not.include(statementText(tag, 0));

        const again = await select<{ v: number }>(sequelize, statementText(tag, 0), [7]);
        expect(again).to.deep.equal([{ v: 7 }]);
        const texts = await preparedTexts(sequelize);
        expect(texts).to.include(statementText(tag, 0));
        expect(texts).to.have.length(LIMIT);
        // And once more, now from the prepared statement.
        expect(await select(sequelize, statementText(tag, 0), [8])).to.deep.equal([{ v: 8 }]);
      });
    });

    it("keeps a recently used statement prepared while older ones are evicted", async () => {
      await withPool(1, async (sequelize) => {
        const tag = unique();
        const kept = `SELECT $1::text AS kept /* ${tag} */`;
        await select(sequelize, kept, ["a"]);
        for (let i = 0; i < LIMIT + 20; i++) {
          await select(sequelize, statementText(tag, i), [0]);
          if (i === 150) expect(await select(sequelize, kept, ["b"])).to.deep.equal([{ kept: "b" }]);
        }
        // The first prepared, but used again before the evictions began: the oldest texts went instead.
        const texts = await preparedTexts(sequelize);
        expect(texts).to.include(kept);
        expect(texts).to.not.include(statementText(tag, 0));
        expect(texts).to.have.length(LIMIT);
      });
    });
  });

  describe("errors", () => {
    it("turns a unique violation into Sequelize's UniqueConstraintError", async () => {
      await withPool(1, async (sequelize) => {
        const slug = `prep-${unique()}`;
        const insert = `INSERT INTO organizations (id, name, slug) VALUES ($1, $2, $3) RETURNING id`;
        const [created] = await execute<{ id: string }>(sequelize, insert, [`org_prep_${unique()}`, "Prepared", slug]);
        expect(created!.id).to.match(/^org_prep_/);
        const error = await rejectionOf(execute(sequelize, insert, [`org_prep_${unique()}`, "Prepared again", slug]));
        expect(error).to.be.instanceOf(UniqueConstraintError);
        const parent = (error as UniqueConstraintError).parent as unknown as pg.DatabaseError & { sql: string };
        expect(parent.code).to.equal("23505");
        expect(parent.constraint).to.equal("organizations_slug_key");
        expect(parent.sql).to.equal(insert);
        expect((error as UniqueConstraintError).fields).to.deep.equal({ slug });
      });
    });

    it("turns a foreign key violation into Sequelize's ForeignKeyConstraintError", async () => {
      await withPool(1, async (sequelize) => {
        const error = await rejectionOf(
          execute(sequelize, `INSERT INTO attribute_mappings (id, organization_id, version, mapping) VALUES ($1, $2, 1, '{}')`, [
            `map_${unique()}`,
            `org_missing_${unique()}`,
          ]),
        );
        expect(error).to.be.instanceOf(ForeignKeyConstraintError);
        expect(((error as ForeignKeyConstraintError).parent as unknown as pg.DatabaseError).code).to.equal("23503");
      });
    });

    it("turns any other database error into a DatabaseError carrying the SQLSTATE, and keeps the connection usable", async () => {
      await withPool(1, async (sequelize) => {
        const tag = unique();
        const error = await rejectionOf(select(sequelize, `SELECT $1::int AS v /* ${tag} */`, ["not a number"]));
        expect(error).to.be.instanceOf(DatabaseError);
        expect(error).to.not.be.instanceOf(UniqueConstraintError);
        expect(error).to.not.be.instanceOf(ForeignKeyConstraintError);
        expect(((error as DatabaseError).parent as unknown as pg.DatabaseError).code).to.equal("22P02");
        // The pool's only connection went back to the pool, and the statement itself still works.
        expect(await select(sequelize, `SELECT $1::int AS v /* ${tag} */`, ["42"])).to.deep.equal([{ v: 42 }]);
      });
    });

    // Regression: a statement whose Parse failed (here: statement_timeout behind a migration's ACCESS
    // EXCLUSIVE lock) was still recorded as prepared, and its later eviction's DEALLOCATE failed an
    // unrelated query. Only statements the driver saw parse are deallocated now.
    it("does not fail a later, unrelated write after a statement timed out while being parsed", async function () {
      this.timeout(10_000);
      await withPool(
        1,
        async (sequelize) => {
          const tag = unique();
          const migration = new pg.Client({ connectionString: shared.databaseUrl });
          await migration.connect();
          try {
            await migration.query(`BEGIN`);
            await migration.query(`LOCK TABLE organizations IN ACCESS EXCLUSIVE MODE`);
            const timedOut = await rejectionOf(select(sequelize, `SELECT id FROM organizations WHERE id = $1 /* ${tag} */`, ["org_x"]));
            expect(((timedOut as DatabaseError).parent as unknown as pg.DatabaseError).code).to.equal("57014");
          } finally {
            await migration.query(`ROLLBACK`);
            await migration.end();
          }
          for (let i = 0; i < LIMIT - 1; i++) await select(sequelize, statementText(tag, i), [0]);
          // The 201st statement on this connection makes room by evicting the one that timed out.
          const id = `org_prep_${unique()}`;
          await sequelize.transaction(async (transaction) => {
            await execute(sequelize, `INSERT INTO organizations (id, name, slug) VALUES ($1, 'After timeout', $2) /* ${tag} */`, [id, `at-${unique()}`], transaction);
          });
          expect(await select(sequelize, `SELECT id FROM organizations WHERE id = $1`, [id])).to.deep.equal([{ id }]);
        },
        { DATABASE_STATEMENT_TIMEOUT_MS: "300" },
      );
    });
  });

  describe("transactions", () => {
    it("runs select and execute on the transaction's own connection", async () => {
      await withPool(2, async (sequelize) => {
        const tag = unique();
        await sequelize.transaction(async (transaction) => {
          const [expected] = await sequelize.query<{ pid: number; xid: string }>(`SELECT pg_backend_pid() AS pid, txid_current()::text AS xid`, {
            type: QueryTypes.SELECT,
            transaction,
          });
          const [viaSelect] = await select<{ pid: number; xid: string }>(
            sequelize,
            `SELECT pg_backend_pid() AS pid, txid_current()::text AS xid /* ${tag} */`,
            [],
            transaction,
          );
          expect(viaSelect).to.deep.equal(expected);
          const [viaExecute] = await execute<{ xid: string }>(sequelize, `SELECT txid_current()::text AS xid /* ${tag} execute */`, [], transaction);
          expect(viaExecute!.xid).to.equal(expected!.xid);
        });
      });
    });

    it("undoes an execute when its transaction rolls back, and hides it from other connections until then", async () => {
      await withPool(2, async (sequelize) => {
        const id = `org_prep_${unique()}`;
        const read = `SELECT id FROM organizations WHERE id = $1`;
        const rollback = new Error("roll back");
        const outcome = await rejectionOf(
          sequelize.transaction(async (transaction) => {
            await execute(sequelize, `INSERT INTO organizations (id, name, slug) VALUES ($1, 'Rolled back', $2)`, [id, `rb-${unique()}`], transaction);
            expect(await select(sequelize, read, [id], transaction)).to.deep.equal([{ id }]);
            expect(await select(sequelize, read, [id]), "uncommitted, seen from the other connection").to.deep.equal([]);
            throw rollback;
          }),
        );
        expect(outcome).to.equal(rollback);
        expect(await select(sequelize, read, [id])).to.deep.equal([]);
      });
    });

    it("commits an execute with its transaction", async () => {
      await withPool(2, async (sequelize) => {
        const id = `org_prep_${unique()}`;
        await sequelize.transaction(async (transaction) => {
          await execute(sequelize, `INSERT INTO organizations (id, name, slug) VALUES ($1, 'Committed', $2)`, [id, `cm-${unique()}`], transaction);
        });
        expect(await select(sequelize, `SELECT id FROM organizations WHERE id = $1`, [id])).to.deep.equal([{ id }]);
      });
    });
  });

  describe("a migration under prepared statements (rolling deploy)", () => {
    const backendPid = async (sequelize: Sequelize) => (await select<{ pid: number }>(sequelize, `SELECT pg_backend_pid() AS pid`, []))[0]!.pid;

    it("fails the first SELECT * after a column was added as a stale plan, drops that connection, and the next query works", async () => {
      await withPool(1, async (sequelize) => {
        const table = `stale_probe_${unique().replace(/\W/g, "_")}`;
        await sequelize.query(`CREATE TABLE ${table} (id int)`);
        try {
          await sequelize.query(`INSERT INTO ${table} VALUES (1)`);
          const read = () => select<Record<string, unknown>>(sequelize, `SELECT * FROM ${table}`, []);
          expect(await read()).to.deep.equal([{ id: 1 }]);
          const before = await backendPid(sequelize);
          await sequelize.query(`ALTER TABLE ${table} ADD COLUMN extra int`);
          const error = await rejectionOf(read());
          expect(isStalePlan(error), String(error)).to.equal(true);
          expect(toAppError(error).status).to.equal(503);
          expect(await read()).to.deep.equal([{ id: 1, extra: null }]);
          expect(await backendPid(sequelize), "the stale connection was replaced").to.not.equal(before);
        } finally {
          await sequelize.query(`DROP TABLE ${table}`);
        }
      });
    });

    it("runs a write transaction again on a fresh connection when its plan went stale", async () => {
      await withPool(1, async (sequelize) => {
        const table = `stale_probe_${unique().replace(/\W/g, "_")}`;
        await sequelize.query(`CREATE TABLE ${table} (id int)`);
        try {
          const insert = (transaction: Transaction) => execute<Record<string, unknown>>(sequelize, `INSERT INTO ${table} VALUES (2) RETURNING *`, [], transaction);
          expect(await writeTransaction(sequelize, insert)).to.deep.equal([{ id: 2 }]);
          await sequelize.query(`ALTER TABLE ${table} ADD COLUMN extra int`);
          expect(await writeTransaction(sequelize, insert)).to.deep.equal([{ id: 2, extra: null }]);
          const [{ n }] = await select<{ n: number }>(sequelize, `SELECT count(*)::int AS n FROM ${table}`, []) as [{ n: number }];
          expect(n, "the failed attempt left nothing behind").to.equal(2);
        } finally {
          await sequelize.query(`DROP TABLE ${table}`);
        }
      });
    });
  });
});
