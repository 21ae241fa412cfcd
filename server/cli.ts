import { ConfigError, loadConfig } from "./config.ts";
import { createLogger } from "./logger.ts";
import { openDatabase } from "./db/database.ts";
import { createMigrator } from "./db/migrator.ts";
import { startService, type WorkerFactory } from "./main.ts";
import { workerFactories } from "./workers.ts";
import { reconcileOnce, parseReconcileArgs } from "../reconciler/command.ts";
import { reconcilerWorker } from "../reconciler/scheduler.ts";
import { rotateEncryptionKey } from "./crypto/rotateCommand.ts";
import { retentionWorker } from "./retention/retentionWorker.ts";

const USAGE = `usage: rollcall <command>
  serve                 HTTP server (+ webhook dispatcher and reconciler schedule unless disabled)
  migrate [--down]      apply pending migrations (or undo the last one) and exit
  rotate-encryption-key re-seal every stored secret (directory credentials, webhook secrets) with
                        ROLLCALL_ENCRYPTION_KEY, reading old values with ROLLCALL_ENCRYPTION_KEYS_PREVIOUS;
                        in embedded mode, generate a new key under ROLLCALL_DATA_DIR first
  dispatch              webhook dispatcher only
  reconcile [--once] [--org ID] [--repair] [--source local|idp|all] [--force]
                        reconciler only: on ROLLCALL_RECONCILE_CRON, or one pass that prints a summary
                        and exits (--once); --org limits it to one organization (id or slug),
                        --repair fixes what it can instead of only reporting, --source idp compares
                        with the IdPs' own directories only (default: all when one is configured),
                        --force repairs past the blast-radius guard`;

/** Runs a long-lived service until SIGTERM/SIGINT, then drains and exits. */
async function runUntilSignalled(start: () => ReturnType<typeof startService>): Promise<void> {
  const service = await start();
  let signalled = false;
  const shutdown = (signal: string) => {
    if (signalled) return;
    signalled = true;
    service.deps.logger.info({ signal }, "shutting down");
    service
      .stop()
      .then(() => process.exit(0))
      .catch((error) => {
        service.deps.logger.error({ err: error }, "shutdown failed");
        process.exit(1);
      });
  };
  process.on("SIGTERM", () => shutdown("SIGTERM"));
  process.on("SIGINT", () => shutdown("SIGINT"));
}

async function main(argv: string[]): Promise<void> {
  const [command, ...rest] = argv;
  const config = loadConfig();
  const logger = createLogger(config.logLevel);
  switch (command) {
    case "serve": {
      const workers: WorkerFactory[] = workerFactories(config, { dispatcher: config.enable.dispatcher, reconciler: config.enable.reconciler });
      await runUntilSignalled(() => startService({ config, logger, serve: config.enable.server, workers }));
      return;
    }
    case "dispatch": {
      const workers = workerFactories(config, { dispatcher: true, reconciler: false });
      // Serving keeps /metrics and /healthz reachable for a dispatcher-only workload (ROLLCALL_ENABLE_SERVER=false turns it off).
      await runUntilSignalled(() => startService({ config, logger, serve: config.enable.server, workers }));
      return;
    }
    case "reconcile": {
      let args: ReturnType<typeof parseReconcileArgs>;
      try {
        args = parseReconcileArgs(rest);
      } catch (error) {
        process.stderr.write(`${error instanceof Error ? error.message : String(error)}\n${USAGE}\n`);
        process.exitCode = 2;
        return;
      }
      if (args.once) {
        process.exitCode = await reconcileOnce(config, logger, args, (line) => process.stdout.write(`${line}\n`));
        return;
      }
      const workers = [reconcilerWorker({ cron: config.reconcileCron, organizationId: args.organizationId, repair: args.repair, source: args.source }), retentionWorker(config.retention)];
      // As for dispatch: the reconciler's metrics (last success, drift) are only scrapeable if it serves.
      await runUntilSignalled(() => startService({ config, logger, serve: config.enable.server, workers }));
      return;
    }
    case "migrate": {
      const db = await openDatabase(config, logger);
      try {
        const migrator = await createMigrator(db.sequelize, logger);
        const done = rest.includes("--down") ? await migrator.down() : await migrator.up();
        process.stdout.write(`${rest.includes("--down") ? "reverted" : "applied"}: ${done.map((m) => m.name).join(", ") || "nothing"}\n`);
      } finally {
        await db.close();
      }
      return;
    }
    case "rotate-encryption-key": {
      process.exitCode = await rotateEncryptionKey(config, logger, (line) => process.stdout.write(`${line}\n`));
      return;
    }
    default:
      process.stderr.write(`${USAGE}\n`);
      process.exitCode = command ? 2 : 0;
  }
}

main(process.argv.slice(2)).catch((error: unknown) => {
  if (error instanceof ConfigError) {
    process.stderr.write(`${error.message}\n`);
    process.exit(78);
  }
  process.stderr.write(`rollcall: ${error instanceof Error ? error.stack ?? error.message : String(error)}\n`);
  process.exit(1);
});
