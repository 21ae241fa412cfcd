import { mkdir } from "node:fs/promises";
import path from "node:path";
import pg from "pg";
import { Sequelize, type Transaction, type TransactionOptions } from "sequelize";
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

/** SQLSTATEs after which the same transaction, run again from its start, can succeed. */
const RETRYABLE_CODES = new Set(["40P01", "40001"]);
const TRANSACTION_ATTEMPTS = 4;

function sqlState(error: unknown): string | undefined {
  const wrapped = error as { parent?: { code?: unknown }; original?: { code?: unknown } } | null;
  const code = wrapped?.parent?.code ?? wrapped?.original?.code;
  return typeof code === "string" ? code : undefined;
}

/**
 * Writers that take the same rows and advisory locks in different orders (a user PATCH and a group
 * PATCH touching that user, found by the fault fuzz) can deadlock; PostgreSQL then aborts one of
 * them (40P01), which reached the IdP as a 500. A managed top-level transaction holds all of its
 * work in its callback and rolled back completely, so it is run again, up to 4 attempts with jitter.
 * Nested (savepoint) transactions are left alone: the deadlock aborted their parent as well.
 */
function retryDeadlockedTransactions(sequelize: Sequelize): void {
  const original = sequelize.transaction.bind(sequelize) as (...args: unknown[]) => Promise<unknown>;
  const managed = async (options: TransactionOptions, work: (tx: Transaction) => Promise<unknown>): Promise<unknown> => {
    for (let attempt = 1; ; attempt++) {
      try {
        return await original(options, work);
      } catch (error) {
        const code = sqlState(error);
        if (attempt >= TRANSACTION_ATTEMPTS || !code || !RETRYABLE_CODES.has(code)) throw error;
        await new Promise((resolve) => setTimeout(resolve, 5 + Math.random() * 20 * attempt));
      }
    }
  };
  Object.defineProperty(sequelize, "transaction", {
    value: (...args: unknown[]) => {
      const work = args.find((a): a is (tx: Transaction) => Promise<unknown> => typeof a === "function");
      const options = (typeof args[0] === "object" && args[0] !== null ? args[0] : {}) as TransactionOptions;
      return work && !options.transaction ? managed(options, work) : original(...args);
    },
    configurable: true,
    writable: true,
  });
}

/** Builds a Sequelize instance for a postgres:// URL with the configured pool. */
export function createSequelize(url: string, config: Config, logger: Logger, poolMax = config.pool.max): Sequelize {
  const sequelize = new Sequelize(url, {
    dialect: "postgres",
    dialectModule: pg,
    // A logging callback costs on every query even when it logs nothing: only install it for trace.
    logging: logger.isLevelEnabled("trace") ? (sql: string) => logger.trace({ sql: sql.slice(0, 500) }, "sql") : false,
    benchmark: false,
    pool: { max: poolMax, min: Math.min(config.pool.min, poolMax), acquire: config.pool.acquireMs, idle: 10_000 },
    dialectOptions: {
      statement_timeout: config.statementTimeoutMs || undefined,
      application_name: "rollcall",
    },
    define: { underscored: true, timestamps: false },
  });
  retryDeadlockedTransactions(sequelize);
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
  const sequelize = createSequelize(url, config, logger, 1);
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
