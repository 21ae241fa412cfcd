import { mkdir } from "node:fs/promises";
import path from "node:path";
import pg from "pg";
import { Sequelize } from "sequelize";
import type { Config } from "../config.ts";
import type { Logger } from "../logger.ts";

/** A connected database: Sequelize over node-postgres, and what must be closed on shutdown. */
export type Database = {
  sequelize: Sequelize;
  url: string;
  embedded: boolean;
  close(): Promise<void>;
};

// node-postgres returns int8 (bigint, count(*)) as strings by default; every int8 we use fits a JS number.
pg.types.setTypeParser(20, (value: string) => Number.parseInt(value, 10));

/** Builds a Sequelize instance for a postgres:// URL with the configured pool. */
export function createSequelize(url: string, config: Config, logger: Logger, poolMax = config.pool.max, keepConnections = false): Sequelize {
  // PGlite is one session behind its socket: a reconnect finds the statements the dropped
  // connection prepared, which the new driver connection does not know (42P05 on its next
  // prepare, answered as 500). So the embedded pool never lets its connection go idle.
  const pool = keepConnections
    ? { max: poolMax, min: poolMax, acquire: config.pool.acquireMs, idle: 2_147_483_647, evict: 2_147_483_647 }
    : { max: poolMax, min: Math.min(config.pool.min, poolMax), acquire: config.pool.acquireMs, idle: 10_000 };
  const sequelize = new Sequelize(url, {
    dialect: "postgres",
    dialectModule: pg,
    // A logging callback costs on every query even when it logs nothing: only install it for trace.
    logging: logger.isLevelEnabled("trace") ? (sql: string) => logger.trace({ sql: sql.slice(0, 500) }, "sql") : false,
    benchmark: false,
    pool,
    dialectOptions: {
      statement_timeout: config.statementTimeoutMs || undefined,
      application_name: "rollcall",
    },
    define: { underscored: true, timestamps: false },
  });
  return sequelize;
}

/**
 * Connects to DATABASE_URL, or starts the embedded PGlite database behind a loopback socket so the
 * same SQL and migrations run everywhere. PGlite is single-connection: the pool is sized to 1.
 */
export async function openDatabase(config: Config, logger: Logger): Promise<Database> {
  if (config.databaseUrl) {
    const sequelize = createSequelize(config.databaseUrl, config, logger);
    await sequelize.authenticate();
    return { sequelize, url: config.databaseUrl, embedded: false, close: () => sequelize.close() };
  }
  const { PGlite } = await import("@electric-sql/pglite");
  const { PGLiteSocketServer } = await import("@electric-sql/pglite-socket");
  const dataDir = path.resolve(config.dataDir, "pgdata");
  await mkdir(dataDir, { recursive: true });
  const pglite = await PGlite.create(dataDir);
  const socketServer = new PGLiteSocketServer({ db: pglite, host: "127.0.0.1", port: 0 });
  await socketServer.start();
  const url = `postgres://postgres@${socketServer.getServerConn()}/postgres`;
  logger.info({ dataDir }, "embedded database started");
  const sequelize = createSequelize(url, config, logger, 1, true);
  // Every socket connection to PGlite talks to its one backend session, which outlives the
  // connection: statements a previous pooled connection prepared (server/models/sql.ts) are still
  // there, while the new driver connection knows none of them, so preparing one again would fail
  // with 42P05 "already exists". The pool reconnects after an idle period or after dropping a
  // broken connection; each new connection first clears the session's prepared statements.
  // The socket server takes one connection at a time and notices a closed one a little later than
  // the pool, which replaces a dropped connection at once: the new one would be refused. Wait for
  // the old one to be gone first.
  sequelize.addHook("beforeConnect", async () => {
    await untilNoConnection(socketServer, config.pool.acquireMs);
  });
  sequelize.addHook("afterConnect", async (connection) => {
    await (connection as pg.Client).query("DEALLOCATE ALL");
  });
  await sequelize.authenticate();
  return {
    sequelize,
    url,
    embedded: true,
    async close() {
      await sequelize.close();
      await socketServer.stop();
      await pglite.close();
    },
  };
}

/** Resolves once PGlite's socket server holds no connection; fails after timeoutMs. */
async function untilNoConnection(socketServer: { getStats(): { activeConnections: number } }, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (socketServer.getStats().activeConnections > 0) {
    if (Date.now() >= deadline) throw new Error("the embedded database still holds another connection");
    await new Promise((resolve) => setTimeout(resolve, 2));
  }
}
