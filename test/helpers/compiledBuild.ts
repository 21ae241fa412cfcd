import { execFile } from "node:child_process";
import { existsSync, readdirSync, statSync } from "node:fs";
import path from "node:path";
import { promisify } from "node:util";

export const REPO_ROOT = path.resolve(import.meta.dirname, "../..");
export const COMPILED_CLI = path.join(REPO_ROOT, "dist/server/cli.js");
const SOURCE_DIRS = ["server", "reconciler", "mapping", "migrations"];

function sources(dir: string): string[] {
  return readdirSync(path.join(REPO_ROOT, dir), { recursive: true, encoding: "utf8" })
    .filter((f) => f.endsWith(".ts"))
    .map((f) => path.join(dir, f));
}

/** Source files (relative) whose compiled .js in dist/ is missing or older than the source. */
export function staleCompiledFiles(): string[] {
  return SOURCE_DIRS.flatMap(sources).filter((file) => {
    const compiled = path.join(REPO_ROOT, "dist", file.replace(/\.ts$/, ".js"));
    return !existsSync(compiled) || statSync(compiled).mtimeMs < statSync(path.join(REPO_ROOT, file)).mtimeMs;
  });
}

/** Runs `npm run build` (tsc -p tsconfig.build.json) when dist/ is behind the sources. */
export async function ensureBuilt(): Promise<void> {
  if (staleCompiledFiles().length === 0) return;
  await promisify(execFile)(process.execPath, [path.join(REPO_ROOT, "node_modules/typescript/bin/tsc"), "-p", "tsconfig.build.json"], { cwd: REPO_ROOT });
}
