import pg from "pg";
import { createFreshDatabase } from "../test/helpers/testDatabase.ts";
import { testConfig } from "../test/helpers/testService.ts";
import { createSequelize } from "../server/db/database.ts";
import { migrateUp } from "../server/db/migrator.ts";
import { createLogger } from "../server/logger.ts";

const base = "postgres://postgres@127.0.0.1:5432/test";
const fresh = await createFreshDatabase(base, "h14_repro");
const seq = createSequelize(fresh.url, await testConfig(fresh.url), createLogger("silent"), 2);
await migrateUp(seq, createLogger("silent"));
await seq.close();
const db = new pg.Client({ connectionString: fresh.url });
await db.connect();
try {
  await db.query(`INSERT INTO organizations (id, name, slug, created_at, updated_at) VALUES ('org_a','a','a',now(),now())`).catch(e => console.log(e.message));
  const sql = process.argv[2] ?? `SELECT k.lookup::int AS lookup, u.*
           FROM unnest($1::text[], $2::text[]) WITH ORDINALITY AS k(organization_id, value, lookup)
           CROSS JOIN LATERAL (
             SELECT * FROM users u
              WHERE u.organization_id = k.organization_id AND lower(u.user_name) = lower(k.value) AND u.deleted_at IS NULL
              ORDER BY u.created_at, u.id
           ) u
          ORDER BY k.lookup`;
  await db.query(`PREPARE p(text[], text[]) AS ${sql}`);
  const args = (n: number) => { const a = Array(16).fill(null), b = Array(16).fill(null); for (let i = 0; i < n; i++) { a[i] = 'org_a'; b[i] = `x${i}@seed`; } return [a, b]; };
  const lit = (arr: (string|null)[]) => `ARRAY[${arr.map(v => v === null ? 'NULL' : `'${v}'`).join(',')}]::text[]`;
  for (let i = 0; i < 8; i++) { const [a, b] = args(2); await db.query(`EXECUTE p(${lit(a)}, ${lit(b)})`); }
  const [a, b] = args(2);
  console.log((await db.query(`SELECT generic_plans, custom_plans FROM pg_prepared_statements`)).rows);
  console.log("--- empty:"); console.log((await db.query(`EXPLAIN EXECUTE p(${lit(a)}, ${lit(b)})`)).rows.map(r => r["QUERY PLAN"]).join("\n"));
  const N = Number(process.argv[3] ?? 2000);
  const conn = (await db.query(`SELECT id FROM enterprise_connections LIMIT 1`).catch(() => ({ rows: [] }))).rows[0]?.id ?? null;
  if (!conn) { await db.query(`INSERT INTO enterprise_connections (id, organization_id, name, provider) VALUES ('conn_a','org_a','c','okta')`); }
  await db.query(`INSERT INTO users (id, organization_id, enterprise_connection_id, external_id, user_name, email_address, first_name, last_name, scim_resource, created_at, updated_at)
     SELECT 'user_' || g, 'org_a', $1, 'x' || g, 'x' || g || '@seed', 'x' || g || '@seed', 'S', 'U', '{}'::jsonb, now(), now() FROM generate_series(1, $2) g`, [conn ?? 'conn_a', N]).catch(e => console.log("seed", e.message));
  console.log(`--- after ${N} rows, same prepared:`); console.log((await db.query(`EXPLAIN ANALYZE EXECUTE p(${lit(a)}, ${lit(b)})`)).rows.map(r => r["QUERY PLAN"]).join("\n"));
  await db.query(`PREPARE q(text[], text[]) AS ${sql}`);
  for (let i = 0; i < 8; i++) await db.query(`EXECUTE q(${lit(a)}, ${lit(b)})`);
  console.log(`--- fresh prepare after rows:`); console.log((await db.query(`EXPLAIN ANALYZE EXECUTE q(${lit(a)}, ${lit(b)})`)).rows.map(r => r["QUERY PLAN"]).join("\n"));
  console.log((await db.query(`SELECT name, generic_plans, custom_plans FROM pg_prepared_statements`)).rows);
} finally { await db.end(); await fresh.drop(); }
