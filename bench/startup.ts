/**
 * Start-up time and memory of `rollcall serve`: the TypeScript sources through tsx (what
 * `npm start` runs in development, and what the image ran before the production build) against
 * the compiled JavaScript in dist/ (what the image and NODE_ENV=production run now).
 *
 *   npm run build
 *   DATABASE_URL=postgres://postgres@127.0.0.1:5432/test node --import tsx bench/startup.ts [runs]
 *
 * Each run spawns a fresh process on an already-migrated database (its own, created and dropped
 * here), times spawn → first 200 from /readyz, then reads VmRSS from /proc (Linux) once ready and
 * again after 200 SCIM-less admin requests. Prints the median and the spread of each variant.
 */
import { spawn } from "node:child_process";
import { existsSync, readFileSync } from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { freePort } from "../test/helpers/freePort.ts";
import { createFreshDatabase } from "../test/helpers/testDatabase.ts";
import { productionServerEnv } from "./scimServer.ts";

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..");
const ADMIN_KEY = "bench-admin-key-0123456789abcdef";

type Sample = { readyMs: number; rssReadyMb: number; rssWarmMb: number };

function rssMb(pid: number): number {
  const status = readFileSync(`/proc/${pid}/status`, "utf8");
  const kb = Number(/VmRSS:\s+(\d+)/.exec(status)?.[1] ?? NaN);
  return kb / 1024;
}

async function once(args: string[], databaseUrl: string): Promise<Sample> {
  const port = await freePort();
  const url = `http://127.0.0.1:${port}`;
  const started = performance.now();
  const child = spawn(process.execPath, args, {
    cwd: ROOT,
    env: await productionServerEnv(databaseUrl, port, ADMIN_KEY, "rollcall-startup-"),
    stdio: ["ignore", "ignore", "inherit"],
  });
  try {
    for (;;) {
      if (child.exitCode !== null) throw new Error(`process exited with ${child.exitCode}`);
      if (await fetch(`${url}/readyz`).then((r) => r.ok, () => false)) break;
      await new Promise((r) => setTimeout(r, 5));
    }
    const readyMs = performance.now() - started;
    const rssReadyMb = rssMb(child.pid!);
    for (let i = 0; i < 200; i++) {
      await fetch(`${url}/v1/organizations?limit=1`, { headers: { Authorization: `Bearer ${ADMIN_KEY}` } }).then((r) => r.arrayBuffer());
    }
    return { readyMs, rssReadyMb, rssWarmMb: rssMb(child.pid!) };
  } finally {
    child.kill("SIGTERM");
    await new Promise((resolve) => (child.exitCode !== null ? resolve(null) : child.once("exit", resolve)));
  }
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
const fmt = (xs: number[], unit: string) => `median ${median(xs).toFixed(0)} ${unit} (min ${Math.min(...xs).toFixed(0)}, max ${Math.max(...xs).toFixed(0)})`;

async function main(): Promise<void> {
  const base = process.env.DATABASE_URL;
  if (!base) throw new Error("set DATABASE_URL to a PostgreSQL server (the bench creates and drops its own database)");
  if (!existsSync(path.join(ROOT, "dist/server/cli.js"))) throw new Error("run `npm run build` first: the compiled variant runs dist/server/cli.js");
  const runs = Number(process.argv[2] ?? 5);
  const db = await createFreshDatabase(base, "rollcall_bench_startup");
  try {
    const variants: Array<[string, string[]]> = [
      ["tsx (node --import tsx server/cli.ts serve)", ["--import", "tsx", "server/cli.ts", "serve"]],
      ["compiled (node dist/server/cli.js serve)", ["dist/server/cli.js", "serve"]],
    ];
    await once(variants[1]![1], db.url); // migrates the fresh database; not counted
    for (const [name, args] of variants) {
      await once(args, db.url); // warms the OS file cache (and tsx's transform cache); not counted
      const samples: Sample[] = [];
      for (let i = 0; i < runs; i++) samples.push(await once(args, db.url));
      console.log(`${name}, ${runs} runs:`);
      console.log(`  spawn → /readyz 200: ${fmt(samples.map((s) => s.readyMs), "ms")}`);
      console.log(`  RSS when ready:      ${fmt(samples.map((s) => s.rssReadyMb), "MB")}`);
      console.log(`  RSS after 200 reqs:  ${fmt(samples.map((s) => s.rssWarmMb), "MB")}`);
    }
  } finally {
    await db.drop();
  }
}

await main();
