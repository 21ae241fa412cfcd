/**
 * The physical limit beside a SCIM figure: the same database work a create or a lookup does, sent
 * straight from this process over the server's pool size of connections, with no HTTP, auth, JSON
 * parsing or presenting. Our HTTP figure divided by this one is the share of the limit we reach.
 *
 * - create: `createInOneStatement`, the command `POST /Users` runs for a new identity (the org's
 *   mapping evaluated, then its one autocommitted statement: user, event, deliveries, audit row);
 * - lookup: the exact statement `GET /Users?filter=userName eq "…"` sends (UserKeyLookups), one key
 *   per execution, as a raw node-postgres query the way the server sends it (planned for its values
 *   while users has no statistics, else a prepared statement; see server/models/usersStatistics.ts).
 */
import pg from "pg";
import { createSequelize } from "../server/db/database.ts";
import { createLogger } from "../server/logger.ts";
import { createMetrics } from "../server/metrics.ts";
import { loadConfig } from "../server/config.ts";
import { createInOneStatement } from "../server/commands/users/createInOneStatement.ts";
import { parseUserInput } from "../server/scim/userInput.ts";
import { userKeyLookupQuery } from "../server/models/userKeyLookups.ts";

export type LimitResult = { perSecond: number; p99_ms: number };

/** Runs `work` in `workers` closed loops for `seconds`; throughput and p99 latency. */
async function closedLoops(workers: number, seconds: number, work: (i: number) => Promise<void>): Promise<LimitResult> {
  const latencies: number[] = [];
  const end = Date.now() + seconds * 1000;
  let counter = 0;
  const started = Date.now();
  await Promise.all(Array.from({ length: workers }, async () => {
    while (Date.now() < end) {
      const t0 = performance.now();
      await work(counter++);
      latencies.push(performance.now() - t0);
    }
  }));
  latencies.sort((a, b) => a - b);
  const elapsed = (Date.now() - started) / 1000;
  return { perSecond: Math.round(latencies.length / elapsed), p99_ms: Math.round(latencies[Math.floor(latencies.length * 0.99)] ?? 0) };
}

/** Creates through the command alone, `connections` at a time, for `seconds`. */
export async function createLimit(
  databaseUrl: string,
  tenant: { organizationId: string; enterpriseConnectionId: string; mappingVersion: number | null },
  userBody: (prefix: string) => string,
  options: { connections: number; seconds: number },
): Promise<LimitResult> {
  const config = loadConfig({ ...process.env, NODE_ENV: "development", DATABASE_URL: databaseUrl });
  const sequelize = createSequelize(databaseUrl, config, createLogger("silent"), options.connections);
  const deps = { sequelize, metrics: createMetrics(), now: () => new Date() };
  const actor = { type: "scim_token" as const, id: null };
  try {
    return await closedLoops(options.connections, options.seconds, async () => {
      const created = await createInOneStatement(deps, tenant, actor, parseUserInput(JSON.parse(userBody("limit"))));
      if (!created) throw new Error("the limit's create found its userName held");
    });
  } finally {
    await sequelize.close();
  }
}

/** `userName eq` lookups with the server's statement, one key per execution, `connections` at a time. */
export async function lookupLimit(
  databaseUrl: string,
  organizationId: string,
  userNameOf: () => string,
  options: { connections: number; seconds: number },
): Promise<LimitResult> {
  const clients = await Promise.all(Array.from({ length: options.connections }, async () => {
    const client = new pg.Client({ connectionString: databaseUrl });
    await client.connect();
    return client;
  }));
  try {
    // Sent as the server sends it: planned for its values until users has statistics, then prepared.
    const stats = await clients[0]!.query(`SELECT EXISTS (SELECT 1 FROM pg_stats WHERE schemaname = current_schema() AND tablename = 'users') AS present`);
    const prepared = stats.rows[0].present === true;
    const free = [...clients];
    return await closedLoops(options.connections, options.seconds, async () => {
      const client = free.pop()!;
      try {
        const query = userKeyLookupQuery("userName", false, [{ organizationId, field: "userName", value: userNameOf() }]);
        await client.query(prepared ? { name: "rc_limit_lookup", ...query } : query);
      } finally {
        free.push(client);
      }
    });
  } finally {
    await Promise.all(clients.map((c) => c.end()));
  }
}
