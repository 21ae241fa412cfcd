import { execFile, spawn } from "node:child_process";
import { readdirSync } from "node:fs";
import { promisify } from "node:util";

const run = promisify(execFile);

/** The local cluster (Debian layout: /etc/postgresql/<version>/main), controlled as root. */
export function localClusterVersion(): string | undefined {
  try {
    return readdirSync("/etc/postgresql").filter((v) => /^\d+$/.test(v)).sort((a, b) => Number(b) - Number(a))[0];
  } catch {
    return undefined;
  }
}

/** Whether this machine can stop and start the PostgreSQL the tests use (root, pg_ctlcluster, a local URL). */
export function canControlPostgres(databaseUrl: string | undefined): boolean {
  if (!databaseUrl || localClusterVersion() === undefined || process.getuid?.() !== 0) return false;
  const host = new URL(databaseUrl).hostname;
  return host === "127.0.0.1" || host === "localhost" || host === "[::1]";
}

/** pg_isready against 127.0.0.1; true when the server accepts connections. */
export async function postgresReady(): Promise<boolean> {
  return run("pg_isready", ["-h", "127.0.0.1", "-t", "2"]).then(() => true, () => false);
}

/** Polls pg_isready until the server accepts connections; throws after `timeoutMs`. */
export async function waitPostgresReady(timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (await postgresReady()) return;
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`PostgreSQL did not accept connections within ${timeoutMs} ms`);
}

function cluster(action: "stop" | "start", version: string): Promise<unknown> {
  const args = ["--skip-systemctl-redirect", version, "main", action, ...(action === "stop" ? ["-m", "fast"] : [])];
  return run("pg_ctlcluster", args, { timeout: 60_000 });
}

/**
 * A PostgreSQL outage that always ends: `stop -m fast` now, and a detached watchdog that starts the
 * cluster again after `watchdogMs` even if this test process dies (other engineers share this
 * server). `end()` starts it, waits for pg_isready, and dismisses the watchdog.
 */
export async function beginPostgresOutage(watchdogMs: number): Promise<{ stoppedAt: number; end(): Promise<{ startedAt: number; readyAt: number }> }> {
  const version = localClusterVersion();
  if (!version) throw new Error("no local PostgreSQL cluster under /etc/postgresql");
  const seconds = Math.ceil(watchdogMs / 1000);
  const watchdog = spawn("sh", ["-c", `sleep ${seconds}; pg_ctlcluster --skip-systemctl-redirect ${version} main start >/dev/null 2>&1 || true`], {
    detached: true,
    stdio: "ignore",
  });
  watchdog.unref();
  let ended: Promise<{ startedAt: number; readyAt: number }> | undefined;
  const end = () => {
    ended ??= (async () => {
      const startedAt = Date.now();
      await cluster("start", version).catch(async (error: unknown) => {
        // "already running" (the watchdog was faster) is fine; anything else must surface.
        if (!(await postgresReady())) throw error;
      });
      await waitPostgresReady(60_000);
      const readyAt = Date.now();
      if (watchdog.pid !== undefined && watchdog.exitCode === null) {
        try {
          // The watchdog leads its own process group (detached): end it and its sleep, nothing else.
          process.kill(-watchdog.pid, "SIGTERM");
        } catch {
          // Already gone.
        }
      }
      return { startedAt, readyAt };
    })();
    return ended;
  };
  try {
    await cluster("stop", version);
  } catch (error) {
    await end();
    throw error;
  }
  return { stoppedAt: Date.now(), end };
}
