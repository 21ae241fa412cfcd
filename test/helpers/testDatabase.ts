import { randomBytes } from "node:crypto";
import pg from "pg";

/** The server tests run against: DATABASE_URL when set (CI: the real PostgreSQL), else none (embedded). */
export const serverUrl: string | undefined = process.env.DATABASE_URL || undefined;

function withDatabase(url: string, database: string): string {
  const parsed = new URL(url);
  parsed.pathname = `/${database}`;
  return parsed.toString();
}

/** Creates an empty database on the server for this test run; returns its URL and a dropper. */
export async function createFreshDatabase(baseUrl: string, label = "rollcall_test"): Promise<{ url: string; drop(): Promise<void> }> {
  const name = `${label}_${process.pid}_${randomBytes(4).toString("hex")}`;
  const admin = new pg.Client({ connectionString: baseUrl });
  await admin.connect();
  try {
    await admin.query(`CREATE DATABASE "${name}"`);
  } finally {
    await admin.end();
  }
  return {
    url: withDatabase(baseUrl, name),
    async drop() {
      const client = new pg.Client({ connectionString: baseUrl });
      await client.connect();
      try {
        await client.query(`DROP DATABASE IF EXISTS "${name}" WITH (FORCE)`);
      } finally {
        await client.end();
      }
    },
  };
}
