import { spawn, type ChildProcess } from "node:child_process";
import { mkdtemp } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { freePort } from "../../helpers/freePort.ts";
import { TEST_ADMIN_KEY, TEST_ENCRYPTION_KEY } from "../../helpers/testService.ts";

const REPO_ROOT = path.resolve(import.meta.dirname, "../../..");

/** A `rollcall serve` child process on a fixed port that can be SIGKILLed and started again. */
export type ChildServer = {
  url: string;
  port: number;
  /** How many times the process was started (1 after spawnChildServer). */
  starts: number;
  /** Every line the child wrote to stdout/stderr (pino JSON when LOG_LEVEL allows it). */
  output: string[];
  /** SIGKILLs the running process and waits until it is gone. */
  kill(): Promise<void>;
  /** Starts a new process on the same port and waits for /readyz. */
  restart(): Promise<void>;
  /** Whether the current process is still alive. */
  alive(): boolean;
  /** SIGTERM, then SIGKILL after a grace period: for the end of a test. */
  stop(): Promise<void>;
};

/** Polls /readyz until it answers 200; throws with the child's output after `timeoutMs`. */
export async function waitReady(url: string, timeoutMs: number, isAlive: () => boolean = () => true): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (!isAlive()) throw new Error("the server process exited before it became ready");
    const ready = await fetch(`${url}/readyz`, { signal: AbortSignal.timeout(2_000) }).then((r) => r.status === 200, () => false);
    if (ready) return;
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`${url} was not ready within ${timeoutMs} ms`);
}

function exited(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
  return new Promise((resolve) => child.once("exit", () => resolve()));
}

/**
 * Spawns `node --import tsx server/cli.ts serve` exactly as `npm start` does, with the given
 * database and environment. The data dir is a temporary one so nothing lands in the checkout.
 */
export async function spawnChildServer(options: { databaseUrl: string; env?: Record<string, string>; port?: number; readyTimeoutMs?: number }): Promise<ChildServer> {
  const port = options.port ?? (await freePort());
  const dataDir = await mkdtemp(path.join(tmpdir(), "rollcall-fault-"));
  const url = `http://127.0.0.1:${port}`;
  const output: string[] = [];
  let child: ChildProcess | undefined;

  const start = async () => {
    const proc = spawn(process.execPath, ["--import", "tsx", "server/cli.ts", "serve"], {
      cwd: REPO_ROOT,
      env: {
        ...process.env,
        NODE_ENV: "test",
        DATABASE_URL: options.databaseUrl,
        PORT: String(port),
        HOST: "127.0.0.1",
        ROLLCALL_ADMIN_KEY: TEST_ADMIN_KEY, ROLLCALL_ENCRYPTION_KEY: TEST_ENCRYPTION_KEY,
        ROLLCALL_DATA_DIR: dataDir,
        ROLLCALL_SCIM_RATE_LIMIT: "0",
        ROLLCALL_ENABLE_RECONCILER: "false",
        LOG_LEVEL: "error",
        ...options.env,
      },
      stdio: ["ignore", "pipe", "pipe"],
    });
    child = proc;
    handle.starts++;
    // Keep partial lines per stream so JSON log lines stay whole.
    for (const stream of [proc.stdout, proc.stderr]) {
      let pending = "";
      stream?.setEncoding("utf8");
      stream?.on("data", (chunk: string) => {
        pending += chunk;
        const lines = pending.split("\n");
        pending = lines.pop() ?? "";
        // Bounded: a misbehaving child cannot fill the test's memory.
        if (output.length < 10_000) output.push(...lines.filter((l) => l.trim() !== ""));
      });
    }
    await waitReady(url, options.readyTimeoutMs ?? 60_000, () => proc.exitCode === null && proc.signalCode === null);
  };

  const handle: ChildServer = {
    url,
    port,
    starts: 0,
    output,
    async kill() {
      if (!child) return;
      const current = child;
      current.kill("SIGKILL");
      await exited(current);
    },
    restart: start,
    alive: () => child !== undefined && child.exitCode === null && child.signalCode === null,
    async stop() {
      if (!child || !handle.alive()) return;
      const current = child;
      current.kill("SIGTERM");
      const timer = setTimeout(() => current.kill("SIGKILL"), 15_000);
      await exited(current);
      clearTimeout(timer);
    },
  };
  await start();
  return handle;
}

/** Error-level (pino level >= 50) lines of a child's JSON log output. */
export function errorLogLines(output: readonly string[]): string[] {
  return output.filter((line) => {
    try {
      const parsed = JSON.parse(line) as { level?: unknown };
      return typeof parsed.level === "number" && parsed.level >= 50;
    } catch {
      // Non-JSON output on a server that logs JSON is itself suspicious (a stack trace, a warning).
      return true;
    }
  });
}
