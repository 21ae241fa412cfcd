import { expect } from "chai";
import type pg from "pg";
import type { Sequelize } from "sequelize";
import { shared } from "../helpers/rootHooks.ts";
import { serverUrl } from "../helpers/testDatabase.ts";
import { testConfig } from "../helpers/testService.ts";
import { unique } from "../helpers/factories.ts";
import { createSequelize } from "../../server/db/database.ts";
import { createLogger } from "../../server/logger.ts";
import { UserKeyLookups, userKeyLookupQuery, type UserKey } from "../../server/models/userKeyLookups.ts";

type PlanNode = { "Node Type": string; "Relation Name"?: string; "Index Name"?: string; "Index Cond"?: string; Filter?: string; Plans?: PlanNode[] };

/** Every scan of users in a plan (EXPLAIN (FORMAT JSON) output). */
function usersScans(node: PlanNode): PlanNode[] {
  const own = node["Relation Name"] === "users" ? [node] : [];
  return [...own, ...(node.Plans ?? []).flatMap(usersScans)];
}

/** The scan of users must find the key through an index: the organization and the key both in its condition. */
function expectKeyedProbe(plan: PlanNode, field: UserKey["field"], label: string): void {
  const scans = usersScans(plan);
  expect(scans, `${label}: ${JSON.stringify(plan)}`).to.have.length(1);
  const scan = scans[0]!;
  const condition = scan["Index Cond"] ?? "";
  expect(condition, `${label}: ${scan["Node Type"]} on ${scan["Index Name"] ?? "users"}, filter ${scan.Filter ?? "none"}`).to.include("organization_id = k.organization_id");
  expect(condition, label).to.include(field === "userName" ? "lower(user_name) = lower(k.value)" : "external_id = k.value");
}

/**
 * Issue 14: a new tenant's first sync looks users up in a table PostgreSQL has no statistics for.
 * A generic plan made while users was empty kept an index that made each probe read all of the
 * organization's users (without statistics PostgreSQL cannot tell the organization indexes apart,
 * see server/models/usersStatistics.ts). These tests build a users table of their own (same columns
 * and indexes, autovacuum off so nothing analyzes it behind the test's back), look users up while it
 * is empty, fill it, run no ANALYZE of their own, and EXPLAIN what the lookups run.
 */
describe("the userName/externalId lookup's plan on a table without statistics", () => {
  let sequelize: Sequelize;
  let client: pg.Client;
  const schema = `plan_${unique().replace(/[^a-z0-9]/gi, "").toLowerCase()}`;
  const orgId = `org_${schema}`;

  before(async function () {
    if (!serverUrl) this.skip(); // the embedded database is one connection, held by the shared service
    // One connection, so the statements the lookups prepare are the ones this test inspects.
    sequelize = createSequelize(shared.databaseUrl!, await testConfig(shared.databaseUrl), createLogger("silent"), 1);
    await sequelize.query(`CREATE SCHEMA ${schema}`);
    await sequelize.query(`CREATE TABLE ${schema}.users (LIKE public.users INCLUDING ALL) WITH (autovacuum_enabled = false)`);
    await sequelize.query(`SET search_path TO ${schema}, public`);
    client = (await sequelize.connectionManager.getConnection({ type: "write" })) as pg.Client;
    sequelize.connectionManager.releaseConnection(client);
  });

  after(async () => {
    if (!sequelize) return;
    await sequelize.query(`DROP SCHEMA ${schema} CASCADE`);
    await sequelize.close();
  });

  const keys = (field: UserKey["field"], values: string[]): UserKey[] => values.map((value) => ({ organizationId: orgId, field, value }));

  async function fill(from: number, to: number): Promise<void> {
    await client.query(
      `INSERT INTO users (id, organization_id, enterprise_connection_id, external_id, user_name, email_address, scim_resource, created_at, updated_at)
       SELECT 'user_' || $1 || g, $1, 'conn_' || $1, 'ext' || g, 'User' || g || '@plan.example.com', 'user' || g || '@plan.example.com', '{}'::jsonb, now(), now()
         FROM generate_series($2::int, $3::int) AS g`,
      [orgId, from, to],
    );
  }

  async function explain(field: UserKey["field"], values: string[]): Promise<{ custom: PlanNode; prepared: PlanNode[] }> {
    const query = userKeyLookupQuery(field, false, keys(field, values));
    // Planned for these values, as the unnamed statement the lookups send while users has no statistics.
    const custom = (await client.query({ text: `EXPLAIN (FORMAT JSON) ${query.text}`, values: query.values })).rows[0]["QUERY PLAN"][0].Plan as PlanNode;
    // Any prepared statement of this text on the connection, with whatever plan PostgreSQL would now choose for it.
    const prepared: PlanNode[] = [];
    const statements = await client.query<{ name: string }>(`SELECT name FROM pg_prepared_statements WHERE statement = $1`, [query.text]);
    for (const { name } of statements.rows) {
      const params = query.values.map((v) => `ARRAY[${(v as Array<string | null>).map((x) => (x === null ? "NULL" : `'${x}'`)).join(",")}]::text[]`);
      prepared.push((await client.query(`EXPLAIN (FORMAT JSON) EXECUTE ${name}(${params.join(", ")})`)).rows[0]["QUERY PLAN"][0].Plan as PlanNode);
    }
    return { custom, prepared };
  }

  const hasStatistics = async () =>
    (await client.query(`SELECT EXISTS (SELECT 1 FROM pg_stats WHERE schemaname = $1 AND tablename = 'users') AS present`, [schema])).rows[0].present === true;

  it("finds users through the key's index after the table was looked up empty and then filled, with no ANALYZE but the lookups' own", async () => {
    const lookups = new UserKeyLookups(sequelize);
    // Empty: enough executions that a prepared statement would have settled on its generic plan.
    for (let i = 0; i < 8; i++) {
      expect(await lookups.find(keys("userName", [`nobody${i}@plan.example.com`])[0]!, false)).to.deep.equal([]);
      expect(await lookups.find(keys("externalId", [`nobody${i}`])[0]!, false)).to.deep.equal([]);
    }
    expect(await hasStatistics(), "an empty table is not analyzed").to.equal(false);
    for (const [from, to] of [[1, 2000], [2001, 20_000]] as const) {
      await fill(from, to);
      // The lookups look at the table at most once a second, and gather statistics in the background.
      const deadline = Date.now() + 10_000;
      while (!(await hasStatistics()) && Date.now() < deadline) {
        await lookups.find(keys("userName", ["User1@plan.example.com"])[0]!, false);
        await new Promise((resolve) => setTimeout(resolve, 200));
      }
      await new Promise((resolve) => setTimeout(resolve, 1100));
      for (let i = 0; i < 8; i++) {
        const [found] = await lookups.find(keys("userName", [`USER${to - i}@plan.example.com`])[0]!, false);
        expect(found?.user_name).to.equal(`User${to - i}@plan.example.com`);
        expect((await lookups.find(keys("externalId", [`ext${to - i}`])[0]!, false)).map((r) => r.external_id)).to.deep.equal([`ext${to - i}`]);
      }
      for (const field of ["userName", "externalId"] as const) {
        const { custom, prepared } = await explain(field, [field === "userName" ? `user${to}@plan.example.com` : `ext${to}`]);
        expectKeyedProbe(custom, field, `${field}, ${to} rows, planned for the values`);
        // Prepared once the table has statistics; at 20,000 rows that plan was made at 2,000 and kept.
        expect(prepared, `${field}: one prepared statement`).to.have.length(1);
        expectKeyedProbe(prepared[0]!, field, `${field}, ${to} rows, prepared statement`);
      }
    }
    const analyzed = (await client.query(`SELECT last_analyze, last_autoanalyze, analyze_count::int AS n FROM pg_stat_user_tables WHERE relid = 'users'::regclass`)).rows[0];
    expect(analyzed.last_autoanalyze, "autovacuum is off for this table").to.equal(null);
    expect(analyzed.n, "the lookups analyzed the table once, at 2,000 rows").to.equal(1);
  });

  it("keeps the key's index once the table is analyzed and the lookups reuse a prepared plan", async () => {
    await client.query(`ANALYZE users`);
    const lookups = new UserKeyLookups(sequelize);
    await lookups.find(keys("userName", ["User1@plan.example.com"])[0]!, false);
    // The statistics check runs beside the first batch; after it, batches use the prepared statement.
    await new Promise((resolve) => setTimeout(resolve, 50));
    for (let i = 0; i < 8; i++) {
      const [found] = await lookups.find(keys("userName", [`user${100 + i}@plan.example.com`])[0]!, false);
      expect(found?.user_name).to.equal(`User${100 + i}@plan.example.com`);
    }
    const { prepared } = await explain("userName", ["user100@plan.example.com"]);
    expect(prepared, "the lookup is prepared once the table has statistics").to.have.length(1);
    expectKeyedProbe(prepared[0]!, "userName", "analyzed, prepared statement");
  });
});
