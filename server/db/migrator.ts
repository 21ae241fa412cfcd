import { readdir } from "node:fs/promises";
import path from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";
import type { Sequelize } from "sequelize";
import { Umzug, SequelizeStorage } from "umzug";
import type { Logger } from "../logger.ts";

/** What a migration receives: a function that runs SQL. Migrations never import models. */
export type MigrationParams = { context: (sql: string) => Promise<unknown> };

type MigrationModule = {
  up(params: MigrationParams): Promise<void>;
  down(params: MigrationParams): Promise<void>;
};

const MIGRATIONS_DIR = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../../migrations");
/** Sources under tsx, compiled .js under dist/ (npm run build); never both in one directory. */
const MIGRATION_FILE = /^\d{14}-[a-z0-9-]+\.(ts|js)$/;

/**
 * The name a migration is recorded under in SequelizeMeta. Databases migrated from the sources
 * recorded `….ts`; the compiled build must see those as applied, so a compiled file keeps its
 * source's name.
 */
const migrationName = (file: string) => file.replace(/\.js$/, ".ts");

/** Builds an umzug migrator over migrations/; each migration runs in its own transaction. */
export async function createMigrator(sequelize: Sequelize, logger: Logger) {
  const files = (await readdir(MIGRATIONS_DIR)).filter((f) => MIGRATION_FILE.test(f)).sort();
  const load = async (file: string) =>
    (await import(pathToFileURL(path.join(MIGRATIONS_DIR, file)).href)) as MigrationModule;
  const inTransaction = (step: (params: MigrationParams) => Promise<void>) =>
    sequelize.transaction((transaction) => step({ context: (sql) => sequelize.query(sql, { transaction }) }));
  return new Umzug({
    migrations: files.map((file) => ({
      name: migrationName(file),
      up: async () => inTransaction((await load(file)).up),
      down: async () => inTransaction((await load(file)).down),
    })),
    context: {},
    storage: new SequelizeStorage({ sequelize }),
    logger: {
      info: (m) => logger.info(m, "migration"),
      warn: (m) => logger.warn(m, "migration"),
      error: (m) => logger.error(m, "migration"),
      debug: (m) => logger.debug(m, "migration"),
    },
  });
}

/** Applies every pending migration; safe to call on every start. */
export async function migrateUp(sequelize: Sequelize, logger: Logger): Promise<string[]> {
  const migrator = await createMigrator(sequelize, logger);
  const applied = await migrator.up();
  return applied.map((m) => m.name);
}

/** Whether every migration on disk has been applied (used by /readyz). */
export async function migrationsPending(sequelize: Sequelize, logger: Logger): Promise<number> {
  const migrator = await createMigrator(sequelize, logger);
  return (await migrator.pending()).length;
}
