import { expect } from "chai";
import { readdirSync, readFileSync } from "node:fs";
import { mkdtemp } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import pg from "pg";
import { REPO_ROOT, ensureBuilt, staleCompiledFiles } from "../helpers/compiledBuild.ts";
import { createFreshDatabase, serverUrl } from "../helpers/testDatabase.ts";
import { spawnRollcall } from "../helpers/rollcallProcess.ts";
import { TEST_ADMIN_KEY } from "../helpers/testService.ts";

/** Every .js under dist/, relative. */
function compiledFiles(): string[] {
  return readdirSync(path.join(REPO_ROOT, "dist"), { recursive: true, encoding: "utf8" }).filter((f) => f.endsWith(".js"));
}

describe("production build (npm run build)", function () {
  // `npm test` builds first; run alone, this compiles (tsc takes a while on a busy machine).
  this.timeout(300_000);
  before(async () => {
    await ensureBuilt();
  });

  it("compiles every run-time source to dist/ with no TypeScript import left", () => {
    expect(staleCompiledFiles()).to.deep.equal([]);
    const leftovers = compiledFiles().filter((f) => {
      const text = readFileSync(path.join(REPO_ROOT, "dist", f), "utf8");
      return /from\s+["'][^"']+\.ts["']|import\(["'][^"']+\.ts["']\)|["']tsx(\/[^"']*)?["']/.test(text);
    });
    expect(leftovers).to.deep.equal([]);
  });

  it("migrates a fresh database and serves from the compiled CLI in production mode, with no writable temp directory", async function () {
    if (!serverUrl) {
      console.log("    (skipped: NODE_ENV=production needs DATABASE_URL)");
      this.skip();
    }
    const db = await createFreshDatabase(serverUrl!, "rollcall_build");
    const child = await spawnRollcall({
      name: "compiled",
      compiled: true,
      args: ["serve"],
      databaseUrl: db.url,
      env: { NODE_ENV: "production", TMPDIR: "/nonexistent", ROLLCALL_DATA_DIR: await mkdtemp(path.join(tmpdir(), "rollcall-build-")) },
    });
    try {
      const res = await fetch(`${child.url}/v1/organizations`, { headers: { Authorization: `Bearer ${TEST_ADMIN_KEY}` } });
      expect(res.status).to.equal(200);
      // The portal's static files are copied beside the compiled code (tsc emits only JavaScript).
      const asset = await fetch(`${child.url}/portal/assets/portal.css`);
      expect(asset.status).to.equal(200);
      // Recorded under the sources' names, so a database migrated by either build sees nothing pending.
      const client = new pg.Client({ connectionString: db.url });
      await client.connect();
      let names: string[];
      try {
        const table = (await client.query<{ name: string }>(`SELECT tablename::text AS name FROM pg_tables WHERE lower(tablename) IN ('sequelizemeta', 'sequelize_meta')`)).rows[0]!.name;
        names = (await client.query<{ name: string }>(`SELECT name FROM "${table}" ORDER BY name`)).rows.map((r) => r.name);
      } finally {
        await client.end();
      }
      expect(names).to.deep.equal(readdirSync(path.join(REPO_ROOT, "migrations")).filter((f) => f.endsWith(".ts")).sort());
    } finally {
      await child.stop();
      await db.drop();
    }
  });
});
