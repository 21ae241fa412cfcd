import { spawn, type ChildProcess } from "node:child_process";
import { mkdtemp } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { freePort } from "./freePort.ts";
import { staleCompiledFiles } from "./compiledBuild.ts";
import { TEST_ADMIN_KEY, TEST_ENCRYPTION_KEY } from "./testService.ts";

const REPO_ROOT = path.resolve(import.meta.dirname, "../..");

/** One `rollcall <command>` child process answering HTTP on its own port. */
export type RollcallProcess = {
  name: string;
  url: string;
  /** Every line the child wrote (pino JSON at LOG_LEVEL=error, so normally nothing). */
  output: string[];
  alive(): boolean;
  /** SIGKILL, and wait until the process is gone. */
  kill(): Promise<void>;
  /** SIGTERM, SIGKILL after 10 s: for the end of a test. */
  stop(): Promise<void>;
};

function exited(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
  return new Promise((resolve) => child.once("exit", () => resolve()));
}

async function waitReady(url: string, child: ChildProcess, output: string[], timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (child.exitCode !== null || child.signalCode !== null) throw new Error(`process exited before it was ready:\n${output.join("\n")}`);
    const ready = await fetch(`${url}/readyz`, { signal: AbortSignal.timeout(2_000) }).then((r) => r.status === 200, () => false);
    if (ready) return;
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`${url} was not ready within ${timeoutMs} ms:\n${output.join("\n")}`);
}

/**
 * How children run: the compiled dist/server/cli.js (what the image runs) when `npm run build` is
 * up to date, as it is under `npm test`; else the sources through tsx (`npm start` in development).
 * Compiled children start in about two thirds of the time (BENCHMARKS.md), which matters with six.
 */
export function cliArgs(): string[] {
  return staleCompiledFiles().length === 0 ? ["dist/server/cli.js"] : ["--import", "tsx", "server/cli.ts"];
}

/**
 * Spawns `rollcall <args…>` (see cliArgs) against `databaseUrl`, on a free port, and waits for /readyz. Every command serves HTTP here (dispatch and
 * reconcile too, for /readyz and /metrics), with the test admin key and a throwaway data dir.
 */
export async function spawnRollcall(options: {
  name: string;
  args: string[];
  databaseUrl: string;
  env?: Record<string, string>;
  readyTimeoutMs?: number;
  /** Force the compiled CLI (dist/server/cli.js) instead of choosing by freshness. */
  compiled?: boolean;
}): Promise<RollcallProcess> {
  const port = await freePort();
  const url = `http://127.0.0.1:${port}`;
  const output: string[] = [];
  const child = spawn(process.execPath, [...(options.compiled ? ["dist/server/cli.js"] : cliArgs()), ...options.args], {
    cwd: REPO_ROOT,
    env: {
      ...process.env,
      NODE_ENV: "test",
      DATABASE_URL: options.databaseUrl,
      DATABASE_POOL_MAX: "4",
      PORT: String(port),
      HOST: "127.0.0.1",
      ROLLCALL_ADMIN_KEY: TEST_ADMIN_KEY,
      // One key for every process, as in production: each seals and opens the others' secrets.
      ROLLCALL_ENCRYPTION_KEY: TEST_ENCRYPTION_KEY,
      ROLLCALL_DATA_DIR: await mkdtemp(path.join(tmpdir(), "rollcall-proc-")),
      ROLLCALL_SCIM_RATE_LIMIT: "0",
      LOG_LEVEL: "error",
      ...options.env,
    },
    stdio: ["ignore", "pipe", "pipe"],
  });
  for (const stream of [child.stdout, child.stderr]) {
    stream?.setEncoding("utf8");
    stream?.on("data", (chunk: string) => {
      if (output.length < 1_000) output.push(...chunk.split("\n").filter((l) => l.trim() !== ""));
    });
  }
  const handle: RollcallProcess = {
    name: options.name,
    url,
    output,
    alive: () => child.exitCode === null && child.signalCode === null,
    async kill() {
      child.kill("SIGKILL");
      await exited(child);
    },
    async stop() {
      if (!handle.alive()) return;
      child.kill("SIGTERM");
      const timer = setTimeout(() => child.kill("SIGKILL"), 10_000);
      await exited(child);
      clearTimeout(timer);
    },
  };
  try {
    await waitReady(url, child, output, options.readyTimeoutMs ?? 60_000);
  } catch (error) {
    child.kill("SIGKILL");
    throw error;
  }
  return handle;
}
