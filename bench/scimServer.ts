import { generateKey } from "../server/crypto/secretBox.ts";
import { spawn, type ChildProcess } from "node:child_process";
import { mkdtemp } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { freePort } from "../test/helpers/freePort.ts";

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..");

/**
 * The key that seals secrets at rest, one per bench run: every process of a run (a server and a
 * separate `rollcall dispatch`) must open what the others sealed, as replicas share theirs.
 */
const BENCH_ENCRYPTION_KEY = generateKey();

/** The environment of a production-mode server a bench starts on its own port and data folder. */
export async function productionServerEnv(databaseUrl: string, port: number, adminKey: string, dataDirPrefix: string): Promise<NodeJS.ProcessEnv> {
  return {
    ...process.env,
    NODE_ENV: "production",
    DATABASE_URL: databaseUrl,
    PORT: String(port),
    HOST: "127.0.0.1",
    ROLLCALL_ADMIN_KEY: adminKey,
    // Production requires the key that seals secrets at rest; a bench run uses a throwaway one.
    ROLLCALL_ENCRYPTION_KEY: BENCH_ENCRYPTION_KEY,
    ROLLCALL_DATA_DIR: await mkdtemp(path.join(tmpdir(), dataDirPrefix)),
    ROLLCALL_ENABLE_RECONCILER: "false",
    LOG_LEVEL: "warn",
  };
}

/** A Rollcall server running as its own process, as in production (`rollcall serve`). */
export type ServerProcess = { url: string; pid: number; stop(): Promise<void> };

/**
 * Starts `node --import tsx server/cli.ts <command>` (serve, or dispatch for a dispatcher-only
 * workload, which also serves /readyz) against a database and waits for /readyz.
 */
export async function startServerProcess(
  databaseUrl: string,
  adminKey: string,
  env: Record<string, string> = {},
  nodeArgs: string[] = (process.env.BENCH_SERVER_NODE_ARGS ?? "").split(" ").filter(Boolean),
  command: "serve" | "dispatch" = "serve",
): Promise<ServerProcess> {
  const port = await freePort();
  // BENCH_SERVER_ROOT runs the server of another checkout (an A/B against an older commit) under this bench.
  const child: ChildProcess = spawn(process.execPath, [...nodeArgs, "--import", "tsx", "server/cli.ts", command], {
    cwd: process.env.BENCH_SERVER_ROOT ?? ROOT,
    env: {
      ...(await productionServerEnv(databaseUrl, port, adminKey, "rollcall-bench-")),
      ROLLCALL_WEBHOOK_ALLOW_PRIVATE_URLS: "true",
      ...env,
    },
    stdio: ["ignore", "ignore", "inherit"],
  });
  const url = `http://127.0.0.1:${port}`;
  const deadline = Date.now() + 60_000;
  while (Date.now() < deadline) {
    if (child.exitCode !== null) throw new Error(`server exited with ${child.exitCode}`);
    const ready = await fetch(`${url}/readyz`).then((r) => r.ok, () => false);
    if (ready) break;
    await new Promise((r) => setTimeout(r, 200));
  }
  return {
    url,
    pid: child.pid!,
    async stop() {
      if (child.exitCode !== null) return;
      child.kill("SIGTERM");
      await new Promise((resolve) => child.once("exit", resolve));
    },
  };
}
